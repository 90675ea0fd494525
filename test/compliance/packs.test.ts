import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import { EgressMode, FlaskServerlessPlatform, FlaskServerlessPlatformProps, PlatformProfile } from '../../src';

/**
 * The NIST 800-53 R5, HIPAA, PCI DSS 3.2.1 and Serverless packs of cdk-nag, run on the umbrella in
 * every profile. REGULATED must have no unsuppressed finding in any of them. STANDARD and
 * PRODUCTION leave opt-in features off, so these packs still report findings; this test pins
 * exactly which (rule suffix and resource), so a change that adds one fails here. Why each remains
 * (what is inherent in every profile is suppressed next to the resource instead):
 */
const REMAINING: Record<string, string> = {
  'SecretsManagerRotationEnabled Database/Cluster/Secret': 'rotation is opt-in (database.rotateSecretAfter; 30 days in REGULATED)',
  'RDSInBackupPlan Database/Cluster/Writer': 'Aurora automated backups only; an AWS Backup plan is opt-in (database.awsBackup, on in REGULATED)',
  'ELBLoggingEnabled Service/LoadBalancer': 'plain TCP listener by default (NLB logs record TLS listeners only; REGULATED logs to a bucket)',
  'ELBv2ACMCertificateRequired Service/LoadBalancer/Listener': 'TLS on the inner hops is opt-in (service.tlsCertificate; required in REGULATED)',
  'APIGWAssociatedWithWAF Api/Api/DeploymentStage.Test': 'WAF is opt-in in STANDARD (on in PRODUCTION)',
  'APIGWXrayEnabled Api/Api/DeploymentStage.Test': 'X-Ray is opt-in in STANDARD (on in PRODUCTION)',
};

const CERT_ARN = 'arn:aws:acm:ap-southeast-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7';

function findings(profile: PlatformProfile, pack: NagPack, props: Partial<FlaskServerlessPlatformProps> = {}): string[] {
  const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
  // REGULATED requires TLS from API Gateway to the load balancer.
  const tls = profile === PlatformProfile.REGULATED ? {
    service: { containerUser: '10001', tlsCertificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', CERT_ARN) },
    api: { integrationTlsHostname: 'app.internal.example.com' },
  } : { service: { containerUser: '10001' } };
  new FlaskServerlessPlatform(stack, 'App', {
    image: ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app')),
    profile,
    ...tls,
    ...props,
  });
  return pack.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => {
    const where = ((r as { constructPath?: string }).constructPath ?? '').replace(/^S\/App\//, '').replace(/\/Resource$/, '');
    return `${v.ruleName} ${where}`;
  })).sort();
}

const packs = { 'NIST 800-53 R5': () => new NIST80053R5Checks(), 'HIPAA': () => new HIPAASecurityChecks(), 'PCI DSS 3.2.1': () => new PCIDSS321Checks(), 'Serverless': () => new ServerlessChecks() };

describe.each([PlatformProfile.STANDARD, PlatformProfile.PRODUCTION])('%s profile', (profile) => {
  test.each(Object.keys(packs))('%s: only the findings listed, each with its reason', (name) => {
    const found = findings(profile, packs[name as keyof typeof packs]());
    const unexplained = found.filter((f) => !(f.replace(/^[^-]+-/, '') in REMAINING));
    expect(unexplained).toEqual([]);
  });
});

describe('REGULATED profile', () => {
  test.each(Object.keys(packs))('%s: no unsuppressed finding', (name) => {
    expect(findings(PlatformProfile.REGULATED, packs[name as keyof typeof packs]())).toEqual([]);
  });

  test.each(Object.keys(packs))('%s: no unsuppressed finding with VPC-endpoint egress either', (name) => {
    expect(findings(PlatformProfile.REGULATED, packs[name as keyof typeof packs](), { network: { egress: EgressMode.VPC_ENDPOINTS } })).toEqual([]);
  });
});
