/**
 * Templates compiled ahead of time, by path under the project root
 * (`templates/common/component.service.hbs`). Empty in the sources, where
 * templates.ts compiles each file the first time it is used; the bundle
 * bin/ha-k8s-seed.mjs builds replaces this module with every template of
 * templates/, cloud-init/ and packer/ precompiled by Handlebars.
 */
import type Handlebars from 'handlebars';

/** What Handlebars.precompile() makes, as a value. */
export type TemplateSpecification = Parameters<typeof Handlebars.template>[0];

const precompiled: Record<string, TemplateSpecification> = {};
export default precompiled;
