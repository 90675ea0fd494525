#!/usr/bin/env bash
# A new TypeScript user's path, outside this repository:
#   1. the library packed by jsii-pacmak (dist/js/*.jsii.tgz, as npm would serve it),
#   2. a fresh `cdk init app --language typescript` app (tsx, TypeScript 7, the CLI's template),
#   3. the tarball installed and the platform instantiated in a few lines (the README's Quick start),
#   4. `cdk synth`, which must print no warning,
#   5. an @aws-cdk/integ-tests-alpha test run by integ-runner: --dry-run, then verify (UNCHANGED).
# Runs on the newest aws-cdk-lib on npm and on the oldest supported one (the peer range's floor).
# integ-runner 2.197.x (newest on npm) reads cloud assembly schema 53 at most, i.e. aws-cdk-lib
# 2.257.0 at most: on a newer aws-cdk-lib the test expects the library's synth-time message that
# says so, then runs the integ test on 2.257.0, as the README tells users to.
#   USER_PATH_CDK_VERSIONS="2.276.0 2.201.0" bash scripts/test-user-path.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
start=$(date +%s)
step() { echo; echo "=== $* (t+$(( $(date +%s) - start ))s)"; }

tgz=$(ls "$repo"/dist/js/cdk-flask-serverless@*.jsii.tgz 2>/dev/null | head -n 1 || true)
[ -n "$tgz" ] || { echo "no npm tarball in dist/js; run 'npx projen compile && npx projen package:js' first" >&2; exit 1; }
cdk_cli="$repo/node_modules/.bin/cdk"
[ -x "$cdk_cli" ] || { echo "no aws-cdk CLI in node_modules; run 'npm ci' first" >&2; exit 1; }

newest_for_integ_runner=2.257.0   # src/core/integ-runner.ts: NEWEST_AWS_CDK_LIB_FOR_INTEG_RUNNER
integ_runner=@aws-cdk/integ-runner@2.197.10
oldest=$(node -p "require('$repo/package.json').peerDependencies['aws-cdk-lib'].replace(/^[^0-9]*/, '')")
latest=$(npm view aws-cdk-lib version)
versions="${USER_PATH_CDK_VERSIONS:-$latest $oldest}"
base=$(mktemp -d "${TMPDIR:-/tmp}/cdk-flask-serverless-user-path.XXXXXX")
[ -n "${KEEP_USER_PATH:-}" ] || trap 'rm -rf "$base"' EXIT
echo "library: $(basename "$tgz"); aws-cdk-lib versions: $versions; apps under $base"

# integ-tests-alpha is released for some aws-cdk-lib versions only; its peer range must hold.
integ_tests_alpha_for() {
  if [ "$(printf '%s\n' "$1" 2.245.0 | sort -V | head -n 1)" = 2.245.0 ]; then echo 2.245.0-alpha.0; else echo 2.193.0-alpha.0; fi
}

# Fails on any warning in the output of cdk synth or integ-runner's synth.
no_warnings() {
  local log=$1
  if grep -inE 'warn|deprecat' "$log"; then
    echo "FAIL: the lines above are warnings (log: $log)" >&2
    return 1
  fi
}

integ() {
  # integ-runner runs the test with tsx, as the app does (its default ts-node needs TypeScript 5).
  npx integ-runner --directory test --language typescript --app 'npx tsx {filePath}' \
    --parallel-regions ap-southeast-1 "$@"
}

for version in $versions; do
  app="$base/v$version/flask-user-app"
  mkdir -p "$app"
  cd "$app"
  step "aws-cdk-lib $version: cdk init app --language typescript"
  "$cdk_cli" init app --language typescript --generate-only --lib-version "$version" >/dev/null 2>&1
  alpha=$(integ_tests_alpha_for "$version")
  npm pkg set "dependencies.aws-cdk-lib=$version"
  # The template's jest setup is not part of this path; leaving it out saves a third of the install.
  npm pkg delete devDependencies.jest devDependencies.@types/jest devDependencies.@swc/core devDependencies.@swc/jest
  rm -f jest.config.js
  node -e "const f='tsconfig.json', t=require('./'+f); t.compilerOptions.types=['node']; require('fs').writeFileSync(f, JSON.stringify(t, null, 2))"
  step "aws-cdk-lib $version: npm install of the template, the library tarball, integ-tests-alpha $alpha, $integ_runner"
  npm install --no-audit --no-fund --loglevel=error "$tgz" "@aws-cdk/integ-tests-alpha@$alpha" "$integ_runner" >/dev/null
  echo "installed: aws-cdk-lib $(node -p "require('aws-cdk-lib/package.json').version"), aws-cdk $(npx cdk --version 2>/dev/null), typescript $(node -p "require('typescript/package.json').version"), tsx $(node -p "require('tsx/package.json').version")"

  # The Quick start: the app folder holds the Flask app's Dockerfile.
  cp -r "$repo/examples/flask-app" flask-app
  rm -rf lib test bin/*.ts
  mkdir -p test
  cat >bin/flask-user-app.ts <<'TS'
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { FlaskServerlessPlatform } from 'cdk-flask-serverless';

const app = new App();
const stack = new Stack(app, 'FlaskApp', { env: { region: 'ap-southeast-1' } });
new FlaskServerlessPlatform(stack, 'App', { image: ecs.ContainerImage.fromAsset(path.join(__dirname, '..', 'flask-app'), { platform: Platform.LINUX_AMD64 }) });
TS
  cat >test/integ.platform.ts <<'TS'
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { FlaskServerlessPlatform } from 'cdk-flask-serverless';

const app = new App();
const stack = new Stack(app, 'FlaskAppInteg', { env: { region: 'ap-southeast-1' } });
new FlaskServerlessPlatform(stack, 'App', { image: ecs.ContainerImage.fromAsset(path.join(__dirname, '..', 'flask-app'), { platform: Platform.LINUX_AMD64 }) });
new IntegTest(app, 'FlaskAppIntegTest', { testCases: [stack] });
TS

  step "aws-cdk-lib $version: cdk synth (the app's own command: tsc, then tsx)"
  npx cdk synth --quiet --no-notices >"$app/synth.log" 2>&1 || { cat "$app/synth.log"; exit 1; }
  no_warnings "$app/synth.log"
  node -e "
    const t = require('./cdk.out/FlaskApp.template.json');
    const types = Object.values(t.Resources).map((r) => r.Type);
    for (const need of ['AWS::RDS::DBCluster', 'AWS::ECS::Service', 'AWS::ApiGateway::RestApi', 'AWS::EC2::VPC']) {
      if (!types.includes(need)) { console.error('missing ' + need); process.exit(1); }
    }
    console.log('cdk synth ok, no warnings: ' + types.length + ' resources, schema ' + require('./cdk.out/manifest.json').version);
  "

  if [ "$(printf '%s\n' "$version" "$newest_for_integ_runner" | sort -V | tail -n 1)" != "$newest_for_integ_runner" ]; then
    step "aws-cdk-lib $version: integ-runner cannot read this cloud assembly; the library must say so at synth"
    if integ --dry-run --update-on-failed >"$app/integ-new.log" 2>&1; then
      echo "FAIL: integ-runner now reads aws-cdk-lib $version's cloud assembly; raise NEWEST_AWS_CDK_LIB_FOR_INTEG_RUNNER" >&2
      exit 1
    fi
    grep -q "Run integ tests with aws-cdk-lib $newest_for_integ_runner" "$app/integ-new.log" \
      || { cat "$app/integ-new.log"; echo "FAIL: no message from the library naming aws-cdk-lib $newest_for_integ_runner" >&2; exit 1; }
    echo "the library's message: $(grep -o "This app's aws-cdk-lib writes.*reads schema [0-9]* at most" "$app/integ-new.log" | head -n 1)"
    step "aws-cdk-lib $version: integ tests on aws-cdk-lib $newest_for_integ_runner, as the message says"
    # A clean install: npm replacing aws-cdk-lib in place leaves out its bundled cloud-assembly-schema.
    npm pkg set "dependencies.aws-cdk-lib=$newest_for_integ_runner"
    rm -rf node_modules package-lock.json
    npm install --no-audit --no-fund --loglevel=error >/dev/null
  else
    step "aws-cdk-lib $version: integ-runner"
  fi
  integ --dry-run --update-on-failed >"$app/integ-snapshot.log" 2>&1 || { cat "$app/integ-snapshot.log"; exit 1; }
  no_warnings "$app/integ-snapshot.log"
  ls test/integ.platform.ts.snapshot/FlaskAppInteg.template.json >/dev/null
  integ >"$app/integ-verify.log" 2>&1 || { cat "$app/integ-verify.log"; exit 1; }
  grep -q 'UNCHANGED' "$app/integ-verify.log" || { cat "$app/integ-verify.log"; echo "FAIL: snapshot not UNCHANGED" >&2; exit 1; }
  echo "integ-runner: snapshot written, then verified $(grep -o 'UNCHANGED.*' "$app/integ-verify.log" | head -n 1)"
done

step "user path ok on aws-cdk-lib $versions"
