import { Template } from 'aws-cdk-lib/assertions';
import { CfnTemplate, ResolvedTemplate } from './cfn';
import { Permissions } from './iam';
import { Mode } from './modes';
import { Network } from './network';
import { ProofContext } from './paths';

const cache = new Map<string, CfnTemplate>();

/** The mode's synthesized template, synthesized once per test file. */
export function templateOf(mode: Mode): CfnTemplate {
  if (!cache.has(mode.id)) cache.set(mode.id, Template.fromStack(mode.build()).toJSON() as CfnTemplate);
  return cache.get(mode.id)!;
}

/** A proof context over a template (a mode's own, or a mutated copy of it). */
export function contextOf(mode: Mode, raw: CfnTemplate = templateOf(mode)): ProofContext {
  const t = new ResolvedTemplate(raw);
  return { t, iam: new Permissions(t), net: new Network(t), mode };
}
