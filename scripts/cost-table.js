#!/usr/bin/env node
// Writes README.md's idle-cost table (between <!-- cost:start --> and <!-- cost:end -->) from the
// cost estimator run on the platform synthesized in each egress mode and profile. Run after `jsii`.
const fs = require('fs');
const path = require('path');
const { referenceEstimates, renderCostTable } = require('../lib/cost/reference');

const readmePath = path.join(__dirname, '..', 'README.md');
const readme = fs.readFileSync(readmePath, 'utf-8');
const start = readme.indexOf('<!-- cost:start -->');
const end = readme.indexOf('<!-- cost:end -->');
if (start < 0 || end < 0) throw new Error('README.md has no <!-- cost:start --> ... <!-- cost:end --> block');
const columns = referenceEstimates();
const updated = readme.slice(0, start) + renderCostTable(columns) + readme.slice(end + '<!-- cost:end -->'.length);
if (updated !== readme) fs.writeFileSync(readmePath, updated);
console.log(`README.md cost table: ${columns.map((c) => `${c.title} ${c.estimate.monthlyUsd.toFixed(2)}`).join(', ')}${updated === readme ? ' (unchanged)' : ' (updated)'}`);
