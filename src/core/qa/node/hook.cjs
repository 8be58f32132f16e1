// Overlord's QA hook, preloaded into every Node.js process of a JavaScript gate through
// NODE_OPTIONS=--require (written next to the run by overlord-tui; see docs/qa.md).
//
// The project's own script stays the definition of the suite: wherever the script starts a
// test runner (once, twice, in every package of a workspace), this hook sees the runner's
// process start and adds the options that make it write its results to a file of its own
// under $OVERLORD_QA_NODE_OUT, and records the run in runs.jsonl there. Every other process
// (the package manager, the build, the runners' workers) is left alone. Nothing here may
// break the process it is loaded into: every error is swallowed.
'use strict';
(function overlordQaHook() {
  try {
    const out = process.env.OVERLORD_QA_NODE_OUT;
    if (!out) return;
    const fs = require('fs');
    const path = require('path');
    const argv = process.argv;
    // A runner a run of ours already started (mocha's bin re-spawning itself) is left alone.
    if (argv.some((a) => typeof a === 'string' && a.includes(out))) return;
    let script = argv[1] || '';
    try {
      script = fs.realpathSync(script);
    } catch (_) {}
    script = script.split(path.sep).join('/');
    const coverage = process.env.OVERLORD_QA_COVERAGE === '1';
    const is = (re) => re.test(script);
    let kind = null;
    if (is(/\/(jest|jest-cli)\/bin\/jest(\.js)?$/)) kind = 'jest';
    else if (is(/\/vitest\/vitest\.mjs$/)) kind = 'vitest';
    else if (is(/\/mocha\/bin\/(_mocha|mocha(\.js)?)$/)) kind = 'mocha';
    else if (is(/\/ava\/(entrypoints\/)?cli\.mjs$/)) kind = 'ava';
    else if (process.execArgv.includes('--test') && !process.env.NODE_TEST_CONTEXT) kind = 'node-test';
    if (!kind) return;
    fs.mkdirSync(out, { recursive: true });
    const id = `${kind}-${Date.now()}-${process.pid}`;
    const args = argv.slice(2);
    const file = path.join(out, id + (kind === 'jest' || kind === 'vitest' ? '.json' : kind === 'ava' ? '.tap' : '.xml'));
    const cov = path.join(out, id + '-coverage');
    const add = [];
    if (kind === 'jest') {
      add.push('--json', `--outputFile=${file}`);
      if (coverage) add.push('--coverage', '--coverageReporters=lcov', `--coverageDirectory=${cov}`);
    } else if (kind === 'vitest') {
      add.push('--reporter=default', '--reporter=json', `--outputFile.json=${file}`);
      if (coverage) {
        add.push('--coverage.enabled=true', '--coverage.reporter=lcov', `--coverage.reportsDirectory=${cov}`);
      }
    } else if (kind === 'mocha') {
      add.push('--reporter=xunit', `--reporter-option=output=${file}`);
    } else if (kind === 'ava') {
      add.push('--tap');
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = function (chunk, ...rest) {
        try {
          fs.appendFileSync(file, typeof chunk === 'string' ? chunk : Buffer.from(chunk));
        } catch (_) {}
        return write(chunk, ...rest);
      };
    } else if (kind === 'node-test') {
      // NODE_OPTIONS gave this process a JUnit reporter writing to node-test.xml; the file
      // is renamed to this run's own once the runner is done, so several runs keep theirs.
      const shared = path.join(out, 'node-test.xml');
      process.on('exit', () => {
        try {
          fs.renameSync(shared, file);
        } catch (_) {}
      });
    }
    if (coverage && (kind === 'jest' || kind === 'vitest')) {
      // Each run's LCOV joins $OVERLORD_QA_NODE_OUT/lcov.info with absolute paths (the runner
      // writes them relative to its root, and the packages of a workspace each have one).
      process.on('exit', () => {
        try {
          const text = fs.readFileSync(path.join(cov, 'lcov.info'), 'utf8');
          const abs = text.replace(/^SF:(.*)$/gm, (_, f) => 'SF:' + path.resolve(process.cwd(), f));
          fs.appendFileSync(path.join(out, 'lcov.info'), abs.endsWith('\n') ? abs : abs + '\n');
        } catch (_) {}
      });
    }
    const label = [kind].concat(args).join(' ');
    const entry = { kind, label, file, coverage: coverage ? cov : null, cwd: process.cwd() };
    fs.appendFileSync(path.join(out, 'runs.jsonl'), JSON.stringify(entry) + '\n');
    // After the script's own arguments (their options win over a config file's), before a
    // `--` that would make ours positional.
    const dash = process.argv.indexOf('--', 2);
    if (dash < 0) process.argv.push(...add);
    else process.argv.splice(dash, 0, ...add);
  } catch (_) {}
})();
