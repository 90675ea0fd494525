import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FlaskFargateService } from '../../src/service';

// Runs the SecureString handler's own Python code, as synthesized, against an in-memory stand-in
// for the SSM API (no AWS here) and a local HTTP server standing in for CloudFormation's
// response URL, through the lifecycle CloudFormation drives: create, keep, rename, roll back, delete.
const HARNESS = String.raw`
import http.server, json, sys, threading, types

class AlreadyExists(Exception): pass
class NotFound(Exception): pass
store = {}
class FakeSsm:
    exceptions = types.SimpleNamespace(ParameterAlreadyExists=AlreadyExists, ParameterNotFound=NotFound)
    def put_parameter(self, Name, Value, Overwrite, Type, **kw):
        assert Type == "SecureString" and not Overwrite
        if Name in store: raise AlreadyExists(Name)
        store[Name] = Value
    def delete_parameter(self, Name):
        if Name not in store: raise NotFound(Name)
        del store[Name]
sys.modules["boto3"] = types.SimpleNamespace(client=lambda name: FakeSsm())

responses = []
class Handler(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        responses.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()

namespace = {}
exec(open(sys.argv[1]).read(), namespace)
context = types.SimpleNamespace(log_stream_name="stream")
def call(request_type, name, physical=None):
    event = {"RequestType": request_type, "ResourceProperties": {"ParameterName": name, "KeyId": "key", "Bytes": "48"},
             "ResponseURL": "http://127.0.0.1:%d/" % server.server_port, "StackId": "s", "RequestId": "r", "LogicalResourceId": "l"}
    if physical: event["PhysicalResourceId"] = physical
    namespace["handler"](event, context)
    r = responses[-1]
    return {"status": r["Status"], "physical": r["PhysicalResourceId"], "data": r["Data"], "reason": r["Reason"], "params": dict(store)}

steps = []
steps.append(call("Create", "/app/Test/KEY"))
steps.append(call("Update", "/app/Test/KEY", "/app/Test/KEY"))
steps.append(call("Update", "/app/prod/KEY", "/app/Test/KEY"))
steps.append(call("Update", "/app/Test/KEY", "/app/prod/KEY"))
steps.append(call("Delete", "/app/prod/KEY", "/app/prod/KEY"))
steps.append(call("Create", "/app/Test/KEY"))
steps.append(call("Delete", "/app/Test/KEY", "/app/Test/KEY"))
print(json.dumps(steps))
`;

function handlerCode(): string {
  const stack = new Stack(new App(), 'S', { env: { region: 'ap-southeast-1' } });
  new FlaskFargateService(stack, 'Service', {
    vpc: new ec2.Vpc(stack, 'Vpc'),
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim'),
    generatedSecrets: ['KEY'],
  });
  const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  const fn = functions.find((f) => String(f.Properties.Code?.ZipFile ?? '').includes('put_parameter'));
  return fn!.Properties.Code.ZipFile;
}

test('the SecureString handler creates once, keeps the value, survives a rolled-back rename, and never returns the value', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'securestring-'));
  fs.writeFileSync(path.join(dir, 'handler.py'), handlerCode());
  fs.writeFileSync(path.join(dir, 'harness.py'), HARNESS);
  const run = spawnSync('python3', [path.join(dir, 'harness.py'), path.join(dir, 'handler.py')], { encoding: 'utf-8' });
  fs.rmSync(dir, { recursive: true, force: true });
  expect(run.stderr).toBe('');
  const [created, kept, renamed, rolledBack, cleanedUp, createOverExisting, deleted] = JSON.parse(run.stdout);

  const value = created.params['/app/Test/KEY'];
  expect(created).toMatchObject({ status: 'SUCCESS', physical: '/app/Test/KEY', data: {} });
  expect(value.length).toBeGreaterThanOrEqual(64);
  expect(kept).toMatchObject({ status: 'SUCCESS', params: { '/app/Test/KEY': value } });
  expect(renamed.status).toBe('SUCCESS');
  expect(renamed.params['/app/prod/KEY']).not.toBe(value);
  // CloudFormation rolls the rename back: an Update to the old name, which still exists.
  expect(rolledBack).toMatchObject({ status: 'SUCCESS', physical: '/app/Test/KEY' });
  expect(rolledBack.params['/app/Test/KEY']).toBe(value);
  // ...then deletes what the failed update created.
  expect(cleanedUp.params).toEqual({ '/app/Test/KEY': value });
  // A Create never takes over an existing parameter.
  expect(createOverExisting.status).toBe('FAILED');
  expect(deleted.params).toEqual({});
  for (const step of [created, kept, renamed, rolledBack, cleanedUp, createOverExisting, deleted]) {
    expect(JSON.stringify(step.data) + step.reason).not.toContain(value);
  }
});
