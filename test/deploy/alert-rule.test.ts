/**
 * The README's alert rule, as an operator copies it: `promtool check rules`
 * accepts it, and `promtool test rules` shows that it fires when reloads keep
 * failing (the scheduled rescan retries one every 10 minutes) and not for one
 * failure that the next try mends.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readmeBlocks } from '../helpers/readme-service.js';
import { promtool } from '../helpers/promtool.js';
import { makeTempDir } from '../helpers/run.js';

const SECTION = 'What operators watch';

// Minute by minute. web1: a failure every 10 minutes from minute 10, never a success. web2:
// one failure at minute 10, mended by the next try at minute 20.
const unitTests = `rule_files:
  - rules.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'hgreload_reloads_total{instance="web1",job="node",method="publish",result="failed"}'
        values: '0x9 1x9 2x9 3x9 4x9 5x9'
      - series: 'hgreload_reloads_total{instance="web1",job="node",method="publish",result="ok"}'
        values: '4x59'
      - series: 'hgreload_reloads_total{instance="web2",job="node",method="touch",result="failed"}'
        values: '0x9 1x49'
      - series: 'hgreload_reloads_total{instance="web2",job="node",method="touch",result="ok"}'
        values: '4x19 5x39'
    alert_rule_test:
      - eval_time: 20m
        alertname: HgreloadReloadsFailing
        exp_alerts: []
      - eval_time: 26m
        alertname: HgreloadReloadsFailing
        exp_alerts: &web1
          - exp_labels: { severity: warning, instance: web1, job: node, method: publish, result: failed }
            exp_annotations:
              summary: "hgreload on web1 cannot reload hgweb (publish)"
              description: "Every reload failed for 15 minutes: hgweb serves an old list. journalctl -u hgreload says why."
      - eval_time: 55m
        alertname: HgreloadReloadsFailing
        exp_alerts: *web1
`;

describe("the README's alert rule", () => {
  const dir = makeTempDir('hgreload-alert-');
  after(() => dir.remove());
  const rules = join(dir.path, 'rules.yml');

  it('is one ```yaml block that promtool check rules accepts', () => {
    const blocks = readmeBlocks(SECTION, 'yaml');
    assert.equal(blocks.length, 1, `one yaml block in "${SECTION}"`);
    writeFileSync(rules, `${blocks[0]!.join('\n')}\n`);
    const check = promtool(['check', 'rules', rules]);
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, /SUCCESS: 1 rules found/);
  });

  it('fires when reloads keep failing, not for one failure mended by the next try', () => {
    writeFileSync(join(dir.path, 'tests.yml'), unitTests);
    const test = promtool(['test', 'rules', join(dir.path, 'tests.yml')]);
    assert.equal(test.status, 0, test.output);
  });
});
