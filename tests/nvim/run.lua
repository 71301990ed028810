-- Drives a real Neovim LSP client against odp-lsp and writes what it saw as JSON; tests/nvim/test_nvim.py makes
-- the assertions. Run by the test as
--   nvim --headless --clean -u tests/nvim/init.lua -c 'autocmd VimEnter * ++once ++nested luafile tests/nvim/run.lua'
-- (or straight from `-c 'luafile ...'`, before VimEnter) with ODP_NVIM_WORKDIR (the pipelines, written by the
-- test) and ODP_NVIM_RESULTS (the JSON file to write).
--
-- Each scenario runs in its own pcall: one failing records its error and the others still run. Every wait is
-- bounded (vim.wait with ODP_NVIM_TIMEOUT_MS), and Neovim always quits at the end.

local work = assert(os.getenv('ODP_NVIM_WORKDIR'), 'ODP_NVIM_WORKDIR is not set')
local out_path = assert(os.getenv('ODP_NVIM_RESULTS'), 'ODP_NVIM_RESULTS is not set')
local TIMEOUT = tonumber(os.getenv('ODP_NVIM_TIMEOUT_MS') or '') or 20000

local results = {
  did_enter = vim.v.vim_did_enter,
  version = vim.version and tostring(vim.version()) or nil,
  version_line = vim.split(vim.fn.execute('version'), '\n', { trimempty = true })[1],
  setup_ok = _G.odp_test_setup_ok,
  scenarios = {},
}

-- Every textDocument/publishDiagnostics the client receives, per URI: { version, count, seq }.
local published = {}
local seq = 0
local orig_handler = vim.lsp.handlers['textDocument/publishDiagnostics']
vim.lsp.handlers['textDocument/publishDiagnostics'] = function(err, result, ctx, config)
  if result and result.uri then
    seq = seq + 1
    published[result.uri] = published[result.uri] or {}
    table.insert(published[result.uri], {
      version = result.version,
      count = #(result.diagnostics or {}),
      seq = seq,
      client_id = ctx and ctx.client_id,
    })
  end
  return orig_handler(err, result, ctx, config)
end

local function path(name)
  return work .. '/' .. name
end

local function wait(what, cond)
  if not vim.wait(TIMEOUT, cond, 20) then
    error(string.format('timed out after %d ms waiting for %s', TIMEOUT, what), 0)
  end
end

--- Opens a file, or switches to its buffer if it is open already (keeping unsaved edits).
local function open(name)
  local existing = vim.fn.bufnr(path(name))
  if existing > 0 and vim.api.nvim_buf_is_loaded(existing) then
    vim.api.nvim_set_current_buf(existing)
  else
    vim.cmd.edit(vim.fn.fnameescape(path(name)))
  end
  return vim.api.nvim_get_current_buf()
end

local function odp_client(buf)
  return vim.lsp.get_clients({ bufnr = buf, name = 'odp' })[1]
end

local function wait_attached(buf)
  wait('the odp client to attach to ' .. vim.api.nvim_buf_get_name(buf), function()
    local c = odp_client(buf)
    return c ~= nil and c.initialized == true
  end)
  return odp_client(buf)
end

--- Waits for diagnostics published for the buffer's current version (after `after_seq`, if given).
local function wait_diagnostics(buf, after_seq)
  local uri = vim.uri_from_bufnr(buf)
  local entry
  wait('diagnostics for ' .. uri, function()
    local want = vim.lsp.util.buf_versions[buf]
    for _, p in ipairs(published[uri] or {}) do
      if p.version == want and p.seq > (after_seq or 0) then
        entry = p
        return true
      end
    end
    return false
  end)
  return entry
end

local function diagnostics(buf)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(out, {
      lnum = d.lnum,
      col = d.col,
      end_lnum = d.end_lnum,
      end_col = d.end_col,
      severity = d.severity,
      code = d.code and tostring(d.code) or nil,
      message = d.message,
      source = d.source,
    })
  end
  table.sort(out, function(a, b)
    return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col)
  end)
  return out
end

local function lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

--- The 0-based index of the first line equal to `text` (after `from`).
local function find_line(buf, text, from)
  for i, l in ipairs(lines(buf)) do
    if i - 1 >= (from or 0) and l == text then
      return i - 1
    end
  end
  error('line not found: ' .. text, 0)
end

local function request(buf, method, params)
  local client = assert(odp_client(buf), 'no odp client on the buffer')
  local resp, err = client:request_sync(method, params, TIMEOUT, buf)
  if not resp then
    error(string.format('%s: %s', method, tostring(err)), 0)
  end
  if resp.err then
    error(string.format('%s: %s', method, vim.inspect(resp.err)), 0)
  end
  return resp.result
end

--- Puts the cursor at (0-based line, 0-based byte column) and makes the position params the way Neovim does.
local function position_params(buf, line, col)
  vim.api.nvim_set_current_buf(buf)
  vim.api.nvim_win_set_cursor(0, { line + 1, col })
  local client = assert(odp_client(buf))
  return vim.lsp.util.make_position_params(0, client.offset_encoding)
end

local function completion_labels(result)
  local items = result and (result.items or result) or {}
  local labels = {}
  for _, item in ipairs(items) do
    table.insert(labels, item.label)
  end
  return labels, items
end

--- Replaces the text of line `line` from byte `col` to its end with `text` (a real edit: the client sends
--- didChange) and returns the position just after it.
local function type_at(buf, line, col, text)
  local old = lines(buf)[line + 1]
  vim.api.nvim_buf_set_text(buf, line, col, line, #old, { text })
  return line, col + #text
end

local function scenario(name, fn)
  local data = {}
  local ok, err = xpcall(fn, debug.traceback, data)
  data.ok = ok
  if not ok then
    data.error = tostring(err)
  end
  results.scenarios[name] = data
end

-- 1. A pipeline by name: filetype, attach, root, a clean analysis.
local good_buf
scenario('attach', function(d)
  good_buf = open('ai-sentiment.odp.yaml')
  d.filetype = vim.bo[good_buf].filetype
  d.syntax = vim.bo[good_buf].syntax
  local client = wait_attached(good_buf)
  d.client_name = client.name
  d.client_id = client.id
  d.root_dir = client.root_dir
  d.cmd = client.config.cmd
  d.server_name = client.server_info and client.server_info.name
  d.offset_encoding = client.offset_encoding
  d.trigger_characters = vim.tbl_get(client.server_capabilities, 'completionProvider', 'triggerCharacters')
  d.rename_provider = client.server_capabilities.renameProvider
  wait_diagnostics(good_buf)
  d.diagnostics = diagnostics(good_buf)
end)

-- 2. Files that are pipelines by their modeline, and a YAML file that is not a pipeline.
scenario('modeline', function(d)
  local buf = open('modeline.yaml')
  d.filetype = vim.bo[buf].filetype
  wait_attached(buf)
  d.attached = odp_client(buf) ~= nil
  wait_diagnostics(buf)
  d.diagnostics = diagnostics(buf)

  local plain = open('plain.yaml')
  d.plain_filetype = vim.bo[plain].filetype
  -- Other buffers attach within milliseconds once the server runs; give this one the same chance.
  vim.wait(500, function()
    return odp_client(plain) ~= nil
  end, 20)
  d.plain_attached = odp_client(plain) ~= nil
end)

-- 3. Diagnostics of a broken pipeline.
local broken_buf
scenario('diagnostics', function(d)
  broken_buf = open('broken.odp.yaml')
  d.filetype = vim.bo[broken_buf].filetype
  wait_attached(broken_buf)
  local entry = wait_diagnostics(broken_buf)
  d.published_count = entry.count
  d.diagnostics = diagnostics(broken_buf)
end)

-- 4. Completion of a method id while typing `method: social.tw`, then applying the chosen item.
scenario('completion_method', function(d)
  local buf = open('complete.odp.yaml')
  wait_attached(buf)
  local line = find_line(buf, '    method: social.twitter.search')
  local l, c = type_at(buf, line, #'    method: ', 'social.tw')
  local params = position_params(buf, l, c)
  params.context = { triggerKind = 1 }
  local result = request(buf, 'textDocument/completion', params)
  local labels, items = completion_labels(result)
  d.labels = labels
  for _, item in ipairs(items) do
    if item.label == 'social.twitter.search' then
      d.item = item
      -- Apply it as a client would: its textEdit (or insertText over the typed word).
      local client = odp_client(buf)
      local edit = item.textEdit
      if edit and edit.insert and edit.replace then
        edit = { range = edit.replace, newText = edit.newText }
      end
      if not edit then
        edit = {
          range = { start = { line = l, character = #'    method: ' }, ['end'] = { line = l, character = c } },
          newText = item.insertText or item.label,
        }
      end
      vim.lsp.util.apply_text_edits({ edit }, buf, client.offset_encoding)
      d.line_after_apply = lines(buf)[l + 1]
    end
  end
end)

-- 5. Completion inside an unfinished template, as typed: `"{{tweets.results[*].`.
scenario('completion_template', function(d)
  local buf = open('complete.odp.yaml')
  wait_attached(buf)
  local line = find_line(buf, '      texts: "{{tweets.results[*].text}}"')
  local l, c = type_at(buf, line, #'      texts: ', '"{{tweets.results[*].')
  d.line = lines(buf)[l + 1]
  local params = position_params(buf, l, c)
  params.context = { triggerKind = 2, triggerCharacter = '.' }
  d.labels = completion_labels(request(buf, 'textDocument/completion', params))
end)

-- 6. Hover and go-to-definition on a template reference.
scenario('navigation', function(d)
  local buf = good_buf
  local line = find_line(buf, '      texts: "{{tweets.results[*].text}}"')
  local col = #'      texts: "{{tw'
  local hover = request(buf, 'textDocument/hover', position_params(buf, line, col))
  local contents = hover and hover.contents
  d.hover = type(contents) == 'table' and (contents.value or vim.inspect(contents)) or contents
  local def = request(buf, 'textDocument/definition', position_params(buf, line, col))
  if def and def.uri == nil and def[1] then
    def = def[1]
  end
  d.definition = def and {
    uri = def.uri or def.targetUri,
    range = def.range or def.targetSelectionRange,
  }
  d.buffer_uri = vim.uri_from_bufnr(buf)
end)

-- 7. Rename a step through vim.lsp.buf.rename (prepareRename, rename, apply_workspace_edit).
scenario('rename', function(d)
  local buf = good_buf
  local line = find_line(buf, '  - name: tweets')
  local params = position_params(buf, line, #'  - name: tw')
  d.prepare = request(buf, 'textDocument/prepareRename', params)
  local before = table.concat(lines(buf), '\n')
  local seq_before = seq
  vim.lsp.buf.rename('posts', { name = 'odp' })
  wait('the rename to be applied', function()
    return table.concat(lines(buf), '\n') ~= before
  end)
  d.text = lines(buf)
  d.modified = vim.bo[buf].modified
  -- The server must now see the same text: analysing the edited version finds no error.
  wait_diagnostics(buf, seq_before)
  d.diagnostics_after = diagnostics(buf)
end)

-- 8. :OdpRestart stops the client and starts a new one that serves every open pipeline again.
scenario('restart', function(d)
  local old = odp_client(broken_buf)
  d.old_client_id = old and old.id
  local seq_before = seq
  vim.cmd('OdpRestart')
  wait('a new odp client on the broken pipeline', function()
    local c = odp_client(broken_buf)
    return c ~= nil and c.id ~= d.old_client_id and c.initialized == true
  end)
  d.new_client_id = odp_client(broken_buf).id
  d.old_client_stopped = old == nil or old:is_stopped()
  wait_diagnostics(broken_buf, seq_before)
  d.diagnostics = diagnostics(broken_buf)
  d.good_buffer_attached = odp_client(good_buf) ~= nil
  d.client_count = #vim.lsp.get_clients({ name = 'odp' })
end)

-- 9. A step runs through :OdpRunStep, and its result shows as an inlay hint after its name (`tweets` was renamed
-- by scenario 7: a step it left alone).
scenario('run_step', function(d)
  local buf = open('ai-sentiment.odp.yaml')
  wait_attached(buf)
  local odp = require('odp')
  odp.last_run = nil
  vim.cmd('OdpRunStep reddit_posts')
  wait('the run of step reddit_posts', function()
    return odp.last_run ~= nil
  end)
  d.run = odp.last_run
  -- The result's hint after the step's name (the types' hints after templates come with the buffer).
  local step_line = find_line(buf, '  - name: reddit_posts')
  wait('an inlay hint after the step', function()
    for _, h in ipairs(vim.lsp.inlay_hint.get({ bufnr = buf })) do
      if h.inlay_hint.position.line == step_line then
        return true
      end
    end
    return false
  end)
  d.hints = {}
  for _, h in ipairs(vim.lsp.inlay_hint.get({ bufnr = buf })) do
    local label = h.inlay_hint.label
    if type(label) == 'table' then
      label = table.concat(vim.tbl_map(function(part)
        return part.value
      end, label))
    end
    table.insert(d.hints, { line = h.inlay_hint.position.line, label = label })
  end
  d.step_line = step_line
end)

-- 10. Format on save, set up as the README tells Neovim users: a BufWritePre autocommand calling
-- vim.lsp.buf.format with the odp client. The file on disk after :write is what the test compares.
scenario('format_on_save', function(d)
  local buf = open('messy.odp.yaml')
  wait_attached(buf)
  vim.api.nvim_create_autocmd('BufWritePre', {
    buffer = buf,
    callback = function()
      vim.lsp.buf.format({ bufnr = buf, name = 'odp', async = false, timeout_ms = TIMEOUT })
    end,
  })
  d.before = lines(buf)
  vim.cmd('write')
  local f = assert(io.open(path('messy.odp.yaml'), 'r'))
  d.saved = f:read('a')
  f:close()
  d.modified = vim.bo[buf].modified
end)

-- 11. Types inline and signature help: the type hint after a template (vim.lsp.inlay_hint) and its tooltip
-- (inlayHint/resolve), signature help in a step's params as asked for (vim.lsp.buf.signature_help: a float) and as
-- it pops up while typing (the plugin's insert-mode trigger on `:`; the one on a new line, a TextChangedI, does not
-- fire for keys fed by a script).
local function label_text(label)
  if type(label) == 'table' then
    return table.concat(vim.tbl_map(function(part)
      return part.value
    end, label))
  end
  return label
end

--- The text of the floating windows open now (nil when there is none), and closes them.
local function take_floats()
  local text
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      local buf_lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
      text = (text or '') .. table.concat(buf_lines, '\n')
    end
  end
  return text
end

local function close_floats()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      vim.api.nvim_win_close(win, true)
    end
  end
end

scenario('types_and_signature', function(d)
  local buf = open('types.odp.yaml')
  wait_attached(buf)
  local line = find_line(buf, '      texts: "{{tweets.results[*].text}}"')
  d.texts_line = line
  local function hint_on_line()
    for _, h in ipairs(vim.lsp.inlay_hint.get({ bufnr = buf })) do
      if h.inlay_hint.position.line == line then
        return h.inlay_hint
      end
    end
  end
  wait('a type hint after the template', function()
    return hint_on_line() ~= nil
  end)
  local hint = hint_on_line()
  d.hint = { character = hint.position.character, label = label_text(hint.label), kind = hint.kind }
  local resolved = request(buf, 'inlayHint/resolve', hint)
  d.tooltip = resolved.tooltip and (resolved.tooltip.value or resolved.tooltip)

  local lang = find_line(buf, '      language: en', line) -- the sentiment step's, under `texts`
  d.signature = request(buf, 'textDocument/signatureHelp', position_params(buf, lang, #'      language: '))
  close_floats()
  vim.lsp.buf.signature_help()
  wait('the signature help float', function()
    return take_floats() ~= nil
  end)
  d.float = take_floats()
  close_floats()

  -- Typed in insert mode: a new line under `language: en`, then a param's key and its colon.
  vim.bo[buf].autoindent = false
  vim.bo[buf].indentexpr = ''
  vim.api.nvim_win_set_cursor(0, { lang + 1, 0 })
  -- Typed as keys ('x': now; insert mode ends once they are typed, as after `:normal`).
  vim.api.nvim_feedkeys(vim.keycode('A<CR>      neutral_threshold:'), 'xt', false)
  wait('signature help while typing', function()
    local text = take_floats()
    return text ~= nil and text:find('neutral_threshold', 1, true) ~= nil
  end)
  d.typed_float = take_floats()
  d.typed_line = lines(buf)[lang + 2]
  close_floats()
end)

-- 12. :OdpGraph writes the server's SVG of the buffer (the unsaved rename of scenario 7 included) and opens it with
-- vim.ui.open, stubbed here to record the path; with a path argument it writes there.
scenario('graph', function(d)
  local buf = open('ai-sentiment.odp.yaml')
  wait_attached(buf)
  d.modified = vim.bo[buf].modified
  local opened = {}
  local ui_open = vim.ui.open
  vim.ui.open = function(p)
    table.insert(opened, p)
    return nil, nil
  end
  local ok, err = pcall(function()
    vim.cmd('OdpGraph')
    wait('vim.ui.open with the graph', function()
      return #opened == 1
    end)
    d.path_arg = path('pictures-graph.svg')
    vim.cmd('OdpGraph ' .. vim.fn.fnameescape(d.path_arg))
    wait('vim.ui.open with the second graph', function()
      return #opened == 2
    end)
  end)
  vim.ui.open = ui_open
  assert(ok, err)
  d.opened = opened
  d.svgs = {}
  for _, p in ipairs(opened) do
    local f = assert(io.open(p, 'r'))
    table.insert(d.svgs, f:read('a'))
    f:close()
  end
end)

results.notifications = _G.odp_test_notifications
results.messages = vim.fn.execute('messages')

local f = assert(io.open(out_path, 'w'))
f:write(vim.json.encode(results))
f:close()

-- Stop the server politely so that it exits with its `exit` notification rather than a kill.
for _, c in ipairs(vim.lsp.get_clients()) do
  c:stop()
end
vim.wait(2000, function()
  return #vim.lsp.get_clients() == 0
end, 20)
vim.cmd('qa!')
