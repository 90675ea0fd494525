import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AuroraServerlessV2Db, EgressMode, FlaskDataImport, FlaskServerlessPlatform, FlaskServerlessVpc } from '../../src';
import { auditSuppressions, checkovFindings, findCheckov, UnsuppressedTemplate } from '../suppressions/audit';
import { gatedApp, runGates } from '../util/gates';

const env = { region: 'ap-southeast-1' };
// The app's image; the import uses its default image (the package's assets/data-import).
const image = ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'integ', 'assets', 'echo-app'));

function standalone(app: App): Stack {
  const stack = new Stack(app, 'DataImport', { env });
  const network = new FlaskServerlessVpc(stack, 'Network');
  const database = new AuroraServerlessV2Db(stack, 'Db', { vpc: network.vpc, vpcSubnets: network.dataSubnets });
  new FlaskDataImport(stack, 'Import', { vpc: network.vpc, vpcSubnets: network.appSubnets, database });
  return stack;
}

function inPlatform(egress: EgressMode) {
  return (app: App): Stack => {
    const stack = new Stack(app, 'Platform', { env });
    new FlaskServerlessPlatform(stack, 'App', {
      image,
      service: { containerUser: '10001' },
      network: { egress },
      dataImport: { versioned: true },
    });
    return stack;
  };
}

test.each([
  ['on its own, beside an AuroraServerlessV2Db', standalone],
  ['in the platform with VPC endpoints, versioned', inPlatform(EgressMode.VPC_ENDPOINTS)],
])('the data import %s has no unsuppressed cdk-nag finding and no cfn-guard violation', (_name, build) => {
  const app = gatedApp();
  const stack = build(app);
  const findings = runGates(app, [stack]);
  expect(findings.nag).toEqual([]);
  expect(findings.guard).toEqual([]);
});

test.each([
  ['on its own', standalone],
  ['in the platform, versioned', inPlatform(EgressMode.NAT_GATEWAY)],
])('every suppression on the data import (%s) hides a finding its rule reports there (checkov too, where installed)', (_name, build) => {
  const app = gatedApp();
  const templates: UnsuppressedTemplate[] = [];
  const ours = auditSuppressions(app, [build(app)], templates).filter((s) => /(^|\/)(Import|DataImport)\//.test(s.resource));
  expect(ours.length).toBeGreaterThan(0);
  const checkov = findCheckov();
  const found = checkov ? checkovFindings(checkov, templates) : undefined;
  const idle = ours.filter((s) => (s.tool === 'checkov'
    ? found !== undefined && !found.has(`${s.templateFile}|${s.logicalId}|${s.rule}`)
    : s.fires === false));
  expect(idle.map((s) => `${s.tool} ${s.rule} on ${s.resource}`)).toEqual([]);
});
