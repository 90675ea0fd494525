import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { GUARD_SUPPRESSION_REASONS } from '../../src/core/suppressions';
import { synthQuietly } from '../util/gates';

/** One suppression recorded next to a resource in a synthesized template. */
export interface Suppression {
  readonly tool: 'cdk-nag' | 'cfn-guard' | 'checkov';
  readonly rule: string;
  /** Construct path below the stack, e.g. `App/Service/Logs/Resource`. */
  readonly resource: string;
  readonly resourceType: string;
  readonly reason: string;
  /**
   * Whether the rule reports that resource once the suppression is ignored; undefined where the
   * tool is not run here (checkov, when no checkov is installed).
   */
  readonly fires?: boolean;
  /** For checkov: the template file name it is checked in, and the resource's logical ID. */
  readonly templateFile?: string;
  readonly logicalId?: string;
}

/** Each stack's template with the checkov skips removed, for a checkov run that ignores them. */
export interface UnsuppressedTemplate {
  readonly file: string;
  readonly body: string;
}

const ACKNOWLEDGED_RULES = 'aws:cdk:acknowledged-rules';

function cfnResources(stack: Stack): CfnResource[] {
  return stack.node.findAll().filter((c: IConstruct): c is CfnResource => CfnResource.isCfnResource(c));
}

function relativePath(stack: Stack, resource: IConstruct): string {
  return resource.node.path.slice(stack.node.path.length + 1);
}

/**
 * Synthesizes `stacks` (built in a `gatedApp()`, so cfn-guard runs at synth), then lists every
 * suppression in them and whether its rule reports that resource when the suppression is
 * ignored: cdk-nag is re-run with acknowledgments ignored; cfn-guard's Control Tower rules don't
 * read `Metadata.guard` at all, so its report already holds every finding.
 */
export function auditSuppressions(app: App, stacks: Stack[], templates: UnsuppressedTemplate[] = []): Suppression[] {
  const assemblyDir = synthQuietly(app);

  const guardFindings = new Set<string>();
  const reportFile = path.join(assemblyDir, 'policy-validation-report.json');
  if (fs.existsSync(reportFile)) {
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf-8'));
    for (const plugin of report.pluginReports ?? []) {
      for (const violation of plugin.violations ?? []) {
        for (const c of violation.violatingConstructs ?? violation.violatingResources ?? []) {
          guardFindings.add(`${c.templatePath}|${c.resourceLogicalId}|${violation.ruleName}`);
        }
      }
    }
  }

  const result: Suppression[] = [];
  for (const stack of stacks) {
    const nagFindings = new Set<string>();
    // AwsSolutions, and the compliance packs the REGULATED profile is held to.
    const packs = [new AwsSolutionsChecks(), new NIST80053R5Checks(), new HIPAASecurityChecks(), new PCIDSS321Checks(), new ServerlessChecks()];
    for (const pack of packs) {
      // Ignore every acknowledgment, so the report holds each finding a suppression would hide.
      (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
      for (const violation of pack.validateScope(stack).violations) {
        for (const r of violation.violatingResources) nagFindings.add(`${(r as { constructPath?: string }).constructPath}|${violation.ruleName}`);
      }
    }
    const template = JSON.parse(fs.readFileSync(path.join(assemblyDir, stack.templateFile), 'utf-8'));
    const templatePath = path.join(assemblyDir, stack.templateFile);

    for (const resource of cfnResources(stack)) {
      const where = relativePath(stack, resource);
      const logicalId = stack.resolve(resource.logicalId) as string;
      const metadata = template.Resources?.[logicalId]?.Metadata ?? {};
      const base = { resource: where, resourceType: resource.cfnResourceType };

      const acknowledged: Record<string, string> = {};
      for (const entry of resource.node.metadata.filter((m) => m.type === ACKNOWLEDGED_RULES)) Object.assign(acknowledged, entry.data);
      for (const [key, reason] of Object.entries(acknowledged)) {
        const rule = key.replace(/^annotation::/i, '');
        result.push({ ...base, tool: 'cdk-nag', rule, reason, fires: nagFindings.has(`${resource.node.path}|${rule}`) });
      }
      const guardReasons: Record<string, string> = {};
      for (const entry of resource.node.metadata.filter((m) => m.type === GUARD_SUPPRESSION_REASONS)) Object.assign(guardReasons, entry.data);
      for (const rule of (metadata.guard?.SuppressedRules ?? []) as string[]) {
        result.push({ ...base, tool: 'cfn-guard', rule, reason: guardReasons[rule] ?? '', fires: guardFindings.has(`${templatePath}|${logicalId}|${rule}`) });
      }
      for (const skip of (metadata.checkov?.skip ?? []) as { id: string; comment: string }[]) {
        result.push({ ...base, tool: 'checkov', rule: skip.id, reason: skip.comment, templateFile: `${templates.length}-${stack.templateFile}`, logicalId });
      }
    }
    for (const r of Object.values<any>(template.Resources ?? {})) delete r.Metadata?.checkov;
    templates.push({ file: `${templates.length}-${stack.templateFile}`, body: JSON.stringify(template) });
  }
  return result;
}

/** The checkov of the project's .venv (or $CHECKOV), if installed. */
export function findCheckov(): string | undefined {
  const candidates = [process.env.CHECKOV, path.join(__dirname, '..', '..', '.venv', 'bin', 'checkov')];
  return candidates.find((c): c is string => !!c && fs.existsSync(c));
}

/**
 * Runs checkov once on `templates` (written to a temporary directory) and returns its failed
 * checks as `file|logicalId|checkId`.
 */
export function checkovFindings(checkov: string, templates: UnsuppressedTemplate[]): Set<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'suppression-audit-'));
  try {
    for (const t of templates) fs.writeFileSync(path.join(dir, t.file), t.body);
    const run = spawnSync(checkov, ['-d', dir, '--framework', 'cloudformation', '-o', 'json', '--quiet', '--compact', '--skip-download'], {
      encoding: 'utf-8',
      maxBuffer: 256 * 1024 * 1024,
    });
    if (run.status !== 0 && run.status !== 1) throw new Error(`checkov failed (${run.status}): ${run.stderr}`);
    const reports = [JSON.parse(run.stdout)].flat();
    const found = new Set<string>();
    for (const report of reports) {
      for (const c of report.results?.failed_checks ?? []) {
        found.add(`${path.basename(c.file_path)}|${String(c.resource).split('.').slice(1).join('.')}|${c.check_id}`);
      }
    }
    return found;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
