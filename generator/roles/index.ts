/**
 * Every role recipe, in the order a host's cloud-config is assembled from
 * them (files, kernel settings and bootstrap steps). Adding a role is one
 * module and one line here.
 */
import type { Cluster, Host } from '../model/types.ts';
import { hasRole } from '../model/types.ts';
import { addons } from './addons.ts';
import { common } from './common.ts';
import { controlPlane } from './control-plane.ts';
import { download } from './download.ts';
import { etcd } from './etcd.ts';
import { loadBalancer } from './load-balancer.ts';
import { node } from './node.ts';
import type { RoleRecipe } from './recipe.ts';

export const RECIPES: readonly RoleRecipe[] = [common, download, etcd, controlPlane, node, loadBalancer, addons];

/** Whether a host has a role the recipe is for (the cluster's condition aside). */
export function forRolesOf(recipe: RoleRecipe, host: Pick<Host, 'roles'>): boolean {
  return recipe.roles.some((role) => hasRole(host, role));
}

/** The recipes a host gets, in assembly order. */
export function recipesFor(cluster: Cluster, host: Host): RoleRecipe[] {
  return RECIPES.filter((r) => forRolesOf(r, host) && (r.when?.(cluster) ?? true));
}
