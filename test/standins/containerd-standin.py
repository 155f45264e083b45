#!/usr/bin/env python3
# STAND-IN for containerd 2.x: NOT containerd. Installed by ha-k8s-seed's
# test/standins/install.ts into boot-lab roots at /usr/local/bin/containerd,
# where the golden image puts containerd's release tarball; no package source
# reachable here carries containerd 2.x (Debian 12 has 1.6, which refuses a
# version 3 config).
#
# What it does, as the real one would: reads --config (TOML; version 2 or 3,
# as containerd 2.x accepts), refuses a missing file, an unknown flag or an
# unsupported config version; listens on the gRPC socket the config names
# (default /run/containerd/containerd.sock) so the kubelet finds its CRI
# endpoint; tells systemd READY=1 (the unit is Type=notify). It runs no
# container: it accepts connections on the socket and closes them.
# Written in Python (3.11's tomllib) because Type=notify needs the main
# process itself to send to $NOTIFY_SOCKET, which Node cannot do.
import os
import signal
import socket
import sys
import tomllib

HERE = os.path.dirname(os.path.realpath(__file__))
LIB = os.environ.get('KUBE_STANDIN_DATA') or os.path.join(HERE, '..', 'lib', 'kube-standin')


def version():
    try:
        with open(os.path.join(LIB, 'containerd-version')) as f:
            return f.read().strip()
    except OSError:
        return 'v2.0.0'


def die(msg, code=1):
    sys.stderr.write(msg + '\n')
    sys.exit(code)


def parse(argv):
    # urfave/cli flags of `containerd`: value flags and booleans, long and short.
    value_flags = {'config': 'config', 'c': 'config', 'log-level': 'log-level', 'l': 'log-level',
                   'address': 'address', 'a': 'address', 'root': 'root', 'state': 'state'}
    bool_flags = {'version': 'version', 'v': 'version', 'help': 'help', 'h': 'help'}
    opts, rest = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--':
            rest += argv[i + 1:]
            break
        if a.startswith('-') and a != '-':
            name, eq, val = a.lstrip('-').partition('=')
            if name in value_flags:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        die(f'Incorrect Usage: flag needs an argument: {a}')
                    val = argv[i]
                opts[value_flags[name]] = val
            elif name in bool_flags:
                opts[bool_flags[name]] = True
            else:
                die(f'Incorrect Usage: flag provided but not defined: -{name}')
        else:
            rest.append(a)
        i += 1
    return opts, rest


def notify(state):
    path = os.environ.get('NOTIFY_SOCKET')
    if not path:
        return
    if path.startswith('@'):
        path = '\0' + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(path)
        s.sendall(state.encode())


def main():
    opts, rest = parse(sys.argv[1:])
    if opts.get('version'):
        print(f'containerd github.com/containerd/containerd/v2 {version()} stand-in')
        return
    if opts.get('help'):
        print(f'STAND-IN for containerd {version()} (not containerd).\nUsage: containerd [--config FILE] [--address SOCKET] [--log-level LEVEL]')
        return
    if rest:
        die(f'containerd stand-in: subcommand {rest[0]!r} is not played by the stand-in')
    config_path = opts.get('config', '/etc/containerd/config.toml')
    try:
        with open(config_path, 'rb') as f:
            config = tomllib.load(f)
    except FileNotFoundError:
        if 'config' in opts:
            die(f'containerd: failed to load TOML: {config_path}: open {config_path}: no such file or directory')
        config = {'version': 3}
    except tomllib.TOMLDecodeError as e:
        die(f'containerd: failed to load TOML from {config_path}: {e}')
    v = config.get('version', 1)
    if v not in (2, 3):
        die(f'containerd: unsupported config version `{v}` (containerd 2.x reads versions 2 and 3)')
    address = opts.get('address') or config.get('grpc', {}).get('address') or '/run/containerd/containerd.sock'
    os.makedirs(os.path.dirname(address), exist_ok=True)
    if os.path.exists(address):
        os.unlink(address)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    os.chmod(address, 0o660)
    server.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: (os.path.exists(address) and os.unlink(address), sys.exit(0)))
    sys.stderr.write(f'STAND-IN containerd {version()} (not containerd): config {config_path} (version {v}), serving on {address}\n')
    notify('READY=1\nSTATUS=stand-in serving\n')
    while True:
        conn, _ = server.accept()
        conn.close()


if __name__ == '__main__':
    main()
