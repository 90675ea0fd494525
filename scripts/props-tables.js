#!/usr/bin/env node
// Writes the option tables of README.md (between <!-- props:start --> and <!-- props:end -->) from
// the jsii assembly, so the README lists every option with the default its JSDoc declares.
// Run after `jsii` (post-compile does).
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const assembly = JSON.parse(fs.readFileSync(path.join(root, '.jsii'), 'utf-8'));
const groups = [
  ['network', 'FlaskServerlessVpcOptions', 'FlaskServerlessVpc'],
  ['database', 'AuroraServerlessV2DbOptions', 'AuroraServerlessV2Db'],
  ['service', 'FlaskFargateServiceOptions', 'FlaskFargateService'],
  ['api', 'KeyedRestApiOptions', 'KeyedRestApi'],
  ['monitoring', 'FlaskServerlessMonitoringOptions', 'FlaskServerlessMonitoring'],
  ['function', 'FlaskLambdaServiceOptions', 'FlaskLambdaService'],
  ['dataImport', 'FlaskDataImportOptions', 'FlaskDataImport'],
];

function typeName(ref) {
  if (!ref) return '';
  if (ref.primitive) return ref.primitive;
  if (ref.fqn) return ref.fqn.replace(/^aws-cdk-lib\.aws_([a-z0-9]+)\./, '$1.').replace(/^aws-cdk-lib\./, '').replace(/^cdk-flask-serverless\./, '');
  if (ref.collection) return `${ref.collection.kind === 'map' ? 'map of ' : 'list of '}${typeName(ref.collection.elementtype)}`;
  return 'union';
}

const cell = (text) => String(text ?? '').replace(/\|/g, '\\|').replace(/\n+/g, ' ').trim();

function table(group, fqnName, construct) {
  const type = assembly.types[`cdk-flask-serverless.${fqnName}`];
  if (!type) throw new Error(`${fqnName} is not in .jsii`);
  const rows = [...(type.properties ?? [])].sort((a, b) => a.name.localeCompare(b.name)).map((p) =>
    `| \`${group}.${p.name}\` | ${cell(typeName(p.type))} | ${cell(p.docs?.default ?? '(required)')} | ${cell(p.docs?.summary)} |`);
  return [
    `### \`${group}\`: ${construct} options (\`${fqnName}\`)`,
    '',
    '| Option | Type | Default | What it does |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

const generated = [
  '<!-- props:start -->',
  '<!-- Generated from the JSDoc by scripts/props-tables.js (post-compile); edit the JSDoc, not this table. -->',
  '',
  ...groups.map(([g, f, c]) => table(g, f, c)),
  '<!-- props:end -->',
].join('\n');

const readmePath = path.join(root, 'README.md');
const readme = fs.readFileSync(readmePath, 'utf-8');
const start = readme.indexOf('<!-- props:start -->');
const end = readme.indexOf('<!-- props:end -->');
if (start < 0 || end < 0) throw new Error('README.md has no <!-- props:start --> ... <!-- props:end --> block');
const updated = readme.slice(0, start) + generated + readme.slice(end + '<!-- props:end -->'.length);
if (updated !== readme) fs.writeFileSync(readmePath, updated);
console.log(`README.md option tables: ${groups.length} groups${updated === readme ? ' (unchanged)' : ' (updated)'}`);
