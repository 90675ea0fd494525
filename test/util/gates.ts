import * as fs from 'fs';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * cfn-guard rules that do not apply to what this library builds. Each entry names the rule
 * and why; a rule listed here is off for every stack, so keep this list short and specific.
 */
export const CFN_GUARD_EXEMPTIONS: { rule: string; reason: string }[] = [];

/** An App that runs the cfn-guard rule packs (Control Tower and the default AWS rules) at synth. */
export function gatedApp(): App {
  return new App({
    policyValidationBeta1: [
      new CfnGuardValidator({
        controlTowerRulesEnabled: true,
        disabledRules: CFN_GUARD_EXEMPTIONS.map((e) => e.rule),
      }),
    ],
  });
}

export interface GateFindings {
  /** cdk-nag AwsSolutions errors and warnings that no suppression covers, as "path: rule: message". */
  readonly nag: string[];
  /** cfn-guard violations that no suppression covers, as "rule: resource paths". */
  readonly guard: string[];
}

/**
 * Synthesizes `app` with the cfn-guard validator, runs cdk-nag AwsSolutionsChecks (v3:
 * `validateScope`) on `stacks`, and returns every finding not suppressed next to its resource:
 * cdk-nag honours the acknowledgments `addNagSuppressions` records; for cfn-guard, the rules in
 * the resource's `Metadata.guard.SuppressedRules` (which the bundled Control Tower rules do not
 * read themselves) are left out here.
 */
export function runGates(app: App, stacks: Stack[]): GateFindings {
  const assemblyDir = synthQuietly(app);

  const nag: string[] = [];
  for (const stack of stacks) {
    // cdk-nag v3 skips findings acknowledged on the resource or its ancestors (addNagSuppressions).
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    for (const violation of report.violations) {
      for (const resource of violation.violatingResources) {
        const where = (resource as { constructPath?: string }).constructPath ?? '';
        nag.push(`${where}: ${violation.ruleName}: ${violation.description.split('\n')[0]}`);
      }
    }
  }

  const guard: string[] = [];
  const reportFile = path.join(assemblyDir, 'policy-validation-report.json');
  if (fs.existsSync(reportFile)) {
    const templates = new Map<string, any>();
    const template = (file: string) => {
      if (!templates.has(file)) templates.set(file, JSON.parse(fs.readFileSync(file, 'utf-8')));
      return templates.get(file);
    };
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf-8'));
    for (const plugin of report.pluginReports ?? []) {
      for (const violation of plugin.violations ?? []) {
        const where = (violation.violatingConstructs ?? violation.violatingResources ?? [])
          .filter((c: any) => {
            if (!c.templatePath || !c.resourceLogicalId || !fs.existsSync(c.templatePath)) return true;
            const suppressed: string[] = template(c.templatePath).Resources?.[c.resourceLogicalId]?.Metadata?.guard?.SuppressedRules ?? [];
            return !suppressed.includes(violation.ruleName);
          })
          .map((c: any) => c.constructPath ?? c.resourceLogicalId);
        if (where.length) guard.push(`${violation.ruleName}: ${where.join(', ')}`);
      }
    }
  }
  return { nag, guard };
}

/**
 * Synthesizes a gated app and returns its assembly directory. The validator prints its full
 * report and a failed policy validation sets the exit code; the findings are read from the report
 * instead, and the test decides, not the process.
 */
export function synthQuietly(app: App): string {
  const previousExitCode = process.exitCode;
  const originalError = console.error;
  console.error = () => {};
  try {
    return app.synth().directory;
  } finally {
    console.error = originalError;
    process.exitCode = previousExitCode;
  }
}
