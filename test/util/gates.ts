import * as fs from 'fs';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
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
  /** cdk-nag AwsSolutions errors and warnings that no suppression covers, as "path: message". */
  readonly nag: string[];
  /** cfn-guard violations, as "rule: resource paths". */
  readonly guard: string[];
}

/**
 * Synthesizes `app` with cdk-nag AwsSolutionsChecks and the cfn-guard validator, and returns
 * every unsuppressed finding. Build the stacks on an App from `gatedApp()`.
 */
export function runGates(app: App, stacks: Stack[]): GateFindings {
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  const previousExitCode = process.exitCode;
  const originalError = console.error;
  console.error = () => {}; // the validator prints its full report; the findings are returned instead
  let assemblyDir: string;
  try {
    assemblyDir = app.synth().directory;
  } finally {
    console.error = originalError;
    // A failed policy validation sets the exit code; the test decides, not the process.
    process.exitCode = previousExitCode;
  }

  const nag: string[] = [];
  for (const stack of stacks) {
    const annotations = Annotations.fromStack(stack);
    for (const finding of [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ]) {
      nag.push(`${finding.id}: ${String(finding.entry.data).split('\n')[0]}`);
    }
  }

  const guard: string[] = [];
  const reportFile = path.join(assemblyDir, 'policy-validation-report.json');
  if (fs.existsSync(reportFile)) {
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf-8'));
    for (const plugin of report.pluginReports ?? []) {
      for (const violation of plugin.violations ?? []) {
        const where = (violation.violatingConstructs ?? violation.violatingResources ?? [])
          .map((c: any) => c.constructPath ?? c.resourceLogicalId)
          .join(', ');
        guard.push(`${violation.ruleName}: ${where}`);
      }
    }
  }
  return { nag, guard };
}
