#!/usr/bin/env bash
# The main job: synthesize the example CDK app (examples/app.ts) into CloudFormation and list
# what was made: each stack's template, its resources by type, and its outputs.
set -euo pipefail
cd "$(dirname "$0")/../examples"
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
  console.log(`\nStack ${id} (${artifact.environment}): ${resources.length} resources -> examples/${file}`);
  for (const [type, n] of Object.entries(byType).sort()) console.log(`  ${String(n).padStart(3)}  ${type}`);
  const outputs = Object.keys(template.Outputs ?? {});
  if (outputs.length) console.log(`  outputs: ${outputs.join(', ')}`);
}
JS

# Idle cost of each example stack, from the package's estimator (src/cost).
for template in cdk.out/*.template.json; do
  echo
  node ../lib/cost/cli.js cost "$template"
done
