// The TextMate grammar, run by the same engine VS Code uses (vscode-textmate with Oniguruma). VS Code's
// own YAML grammar is not a package, so a small stand-in provides `source.yaml`: keys, quoted strings,
// comments, flow mappings and plain scalars, as begin/end rules like the real one's (a token matched by a
// single `match` rule cannot take injections, in VS Code either).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';

const root = path.join(__dirname, '..', '..');

const yamlStandIn = {
  scopeName: 'source.yaml',
  patterns: [
    { begin: '(?:^|(?<=\\s))#', end: '$', name: 'comment.line.number-sign.yaml', beginCaptures: { '0': { name: 'punctuation.definition.comment.yaml' } } },
    { match: '^\\s*(?:(-)\\s+)?([\\w.-]+)\\s*(:)(?=\\s|$)', captures: { '1': { name: 'punctuation.definition.block.sequence.item.yaml' }, '2': { name: 'entity.name.tag.yaml' }, '3': { name: 'punctuation.separator.key-value.mapping.yaml' } } },
    { begin: '"', end: '"', name: 'string.quoted.double.yaml', patterns: [{ match: '\\\\.', name: 'constant.character.escape.yaml' }] },
    { begin: "'", end: "'", name: 'string.quoted.single.yaml', patterns: [{ match: "''", name: 'constant.character.escape.yaml' }] },
    { begin: '\\{', end: '\\}', name: 'meta.flow-mapping.yaml', patterns: [{ include: '$self' }] },
    { begin: '[^\\s#\'"{\\[]', end: '(?=\\s+#|$)', name: 'string.unquoted.plain.out.yaml' },
  ],
};

interface Token {
  text: string;
  scopes: string[];
}

let grammar: textmate.IGrammar;

function tokenize(line: string): Token[] {
  const result = grammar.tokenizeLine(line, textmate.INITIAL);
  return result.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
}

/** The scopes of the first token with exactly this text. */
function scopesOf(line: string, text: string, nth = 0): string[] {
  const tokens = tokenize(line).filter((t) => t.text === text);
  assert.ok(tokens[nth], `no token "${text}" in ${JSON.stringify(tokenize(line).map((t) => t.text))}`);
  return tokens[nth].scopes;
}

function hasScope(scopes: string[], prefix: string): boolean {
  return scopes.some((s) => s === prefix || s.startsWith(`${prefix}.`));
}

before(async () => {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName: string) => {
      if (scopeName === 'source.yaml') {
        return textmate.parseRawGrammar(JSON.stringify(yamlStandIn), 'yaml.json');
      }
      if (scopeName === 'source.odp') {
        const file = path.join(root, 'syntaxes', 'odp.tmLanguage.json');
        return textmate.parseRawGrammar(fs.readFileSync(file, 'utf8'), file);
      }
      return null;
    },
  });
  const loaded = await registry.loadGrammar('source.odp');
  assert.ok(loaded, 'the grammar did not load');
  grammar = loaded;
});

describe('the TextMate grammar', () => {
  it('keeps YAML highlighting', () => {
    assert.ok(hasScope(scopesOf('name: tweet-mood', 'name'), 'entity.name.tag'));
    assert.ok(hasScope(scopesOf('# a comment', ' a comment'), 'comment.line'));
    const scopes = scopesOf('  query: "rust lang"', 'rust lang');
    assert.equal(scopes[0], 'source.odp');
    assert.ok(hasScope(scopes, 'string.quoted.double'));
  });

  it('scopes a template inside a double-quoted string', () => {
    const line = '      texts: "{{tweets.results[*].text}}"';
    assert.ok(hasScope(scopesOf(line, '{{'), 'punctuation.definition.template.begin'));
    assert.ok(hasScope(scopesOf(line, '{{'), 'string.quoted.double'));
    assert.ok(hasScope(scopesOf(line, '{{'), 'meta.template.expression'));
    assert.ok(hasScope(scopesOf(line, 'tweets'), 'variable.other.step'));
    assert.ok(hasScope(scopesOf(line, 'results'), 'variable.other.property'));
    assert.ok(hasScope(scopesOf(line, '*'), 'keyword.operator.wildcard'));
    assert.ok(hasScope(scopesOf(line, 'text'), 'variable.other.property'));
    assert.ok(hasScope(scopesOf(line, '}}'), 'punctuation.definition.template.end'));
    // The string goes on after the template.
    assert.ok(hasScope(scopesOf(line, '"', 1), 'string.quoted.double'));
  });

  it('scopes inputs, indexes and quoted fields, with spaces inside the braces', () => {
    const line = `  kind: '{{ inputs.headers["content-type"] }} and {{tweets.results[-1].url}}'`;
    assert.ok(hasScope(scopesOf(line, 'inputs'), 'variable.language.inputs'));
    assert.ok(hasScope(scopesOf(line, '"content-type"'), 'string.quoted.field'));
    assert.ok(hasScope(scopesOf(line, '-1'), 'constant.numeric.integer'));
    assert.ok(hasScope(scopesOf(line, ' and '), 'string.quoted.single'));
    assert.ok(!hasScope(scopesOf(line, ' and '), 'meta.template.expression'));
  });

  it('scopes a template in a plain scalar and in an interpolated string', () => {
    assert.ok(hasScope(scopesOf('focus: What about {{inputs.query}} today', 'query'), 'variable.other.property'));
    assert.ok(hasScope(scopesOf('q: "say {{inputs.query}}"', 'inputs'), 'variable.language.inputs'));
  });

  it('leaves unclosed templates, escapes and comments alone', () => {
    assert.ok(!tokenize('q: "{{inputs.query"').some((t) => hasScope(t.scopes, 'meta.template.expression')));
    assert.ok(hasScope(scopesOf('q: \\{{literal}}', '\\{{'), 'constant.character.escape.template'));
    assert.ok(!tokenize('# see {{inputs.query}}').some((t) => hasScope(t.scopes, 'meta.template.expression')));
  });

  it('scopes odp: directives in comments', () => {
    const modeline = '# odp: pipeline';
    assert.ok(hasScope(scopesOf(modeline, 'odp'), 'keyword.other.directive'));
    assert.ok(hasScope(scopesOf(modeline, 'pipeline'), 'keyword.other.directive'));
    const ignore = '    method: social.twitter.search  # odp: ignore[ODP500, unused-source]';
    assert.ok(hasScope(scopesOf(ignore, 'ignore'), 'keyword.other.directive'));
    assert.ok(hasScope(scopesOf(ignore, 'ODP500, unused-source'), 'constant.other.diagnostic-code'));
  });
});
