#!/usr/bin/env bash
# The main job: synthesize the example CDK app (examples/app.ts) into CloudFormation, then print
# what was made (each stack's resources by type, its outputs), its idle cost, and the next steps.
set -euo pipefail
cd "$(dirname "$0")/../examples"
[ -x ../node_modules/.bin/cdk ] || { echo "node_modules is missing: run 'npm ci' first" >&2; exit 1; }
rm -rf cdk.out
npx cdk synth --quiet --no-notices --no-version-reporting
node - <<'JS'
const fs = require('fs');
const path = require('path');
const manifest = JSON.parse(fs.readFileSync('cdk.out/manifest.json', 'utf-8'));
for (const [id, artifact] of Object.entries(manifest.artifacts)) {
  if (artifact.type !== 'aws:cloudformation:stack') continue;
  const file = path.join('cdk.out', artifact.properties.templateFile);
  const template = JSON.parse(fs.readFileSync(file, 'utf-8'));
  const resources = Object.values(template.Resources ?? {});
  const byType = {};
  for (const r of resources) byType[r.Type] = (byType[r.Type] ?? 0) + 1;
  const byService = {};
  for (const [type, n] of Object.entries(byType)) {
    const service = type.startsWith('Custom::') ? 'custom resource' : type.split('::')[1];
    byService[service] = (byService[service] ?? 0) + n;
  }
  console.log(`\nStack ${id} (${artifact.environment}): ${resources.length} resources -> examples/${file}`);
  console.log(`  summary: ${Object.entries(byService).sort((a, b) => b[1] - a[1]).map(([s, n]) => `${n} ${s}`).join(', ')}`);
  for (const [type, n] of Object.entries(byType).sort()) console.log(`  ${String(n).padStart(3)}  ${type}`);
  const outputs = Object.keys(template.Outputs ?? {});
  if (outputs.length) console.log(`  outputs: ${outputs.join(', ')}`);
}
JS

# --- Idle cost per month, computed from each synthesized template by the package's estimator
# --- (src/cost). Skipped while the estimator is not part of the build.
for template in cdk.out/*.template.json; do
  if [ -f ../lib/cost/cli.js ]; then
    echo; node ../lib/cost/cli.js cost "$template"
  elif [ -f ../src/cost/cli.ts ]; then
    echo; npx ts-node --project ../tsconfig.dev.json ../src/cost/cli.ts cost "$template"
  fi
done

node - <<'JS'
const fs = require('fs');
const manifest = JSON.parse(fs.readFileSync('cdk.out/manifest.json', 'utf-8'));
const stacks = Object.entries(manifest.artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack')
  .map(([id, a]) => [id, Object.keys(JSON.parse(fs.readFileSync(`cdk.out/${a.properties.templateFile}`, 'utf-8')).Outputs ?? {})]);
const names = stacks.map(([id]) => id).join(' ');
const query = (id, output) => `aws cloudformation describe-stacks --region ap-southeast-1 --stack-name ${id} --query "Stacks[0].Outputs[?OutputKey=='${output}'].OutputValue" --output text`;
console.log(`
Next steps (AWS credentials needed; run from examples/):
  npx cdk bootstrap aws://<account-id>/ap-southeast-1   # once per account and region
  npx cdk deploy ${names}   # Docker must be running: fromAsset builds the Flask image`);
for (const [id, outputs] of stacks) {
  const keyCommand = outputs.find((o) => o.includes('GetApiKeyCommand'));
  const url = outputs.find((o) => /ApiUrl/.test(o));
  if (keyCommand) console.log(`  KEY=$(eval "$(${query(id, keyCommand)})")   # the API key's value`);
  if (url) console.log(`  curl -H "x-api-key: $KEY" "$(${query(id, url)})health"`);
}
console.log(`  npx cdk destroy ${names}   # when done: first deploy with database deletionProtection off; a final snapshot stays`);
JS
