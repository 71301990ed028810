-- odp.nvim: Neovim support for ODP data pipelines, backed by the odp language server (`odp-lsp --stdio`).
--
--   require('odp').setup({
--     cmd = 'odp-lsp',          -- the server binary (a name on $PATH or a path); `--stdio` is appended
--     registry = nil,           -- another method registry: a path or an http(s) URL (initializationOptions)
--     inlay_hints = { results = true, types = true },  -- which inlay hints the server sends
--     signature_help = true,    -- show the method's params while typing in `params:` (after `:`, `,`, a new line)
--     lsp = {},                 -- anything else for vim.lsp.config('odp', ...): on_attach, capabilities, ...
--   })
--
-- Requires Neovim 0.11 or newer (vim.lsp.config / vim.lsp.enable).

local M = {}

--- `1 step`, `2 steps`.
local function counted(n, noun)
  return string.format('%d %s%s', n, noun, n == 1 and '' or 's')
end

M.name = 'odp'
M.min_version = '0.11'

local function notify(msg, level)
  vim.notify('odp: ' .. msg, level or vim.log.levels.INFO, { title = 'odp' })
end

--- Whether this Neovim is recent enough; reports a clear error otherwise.
--- @return boolean
function M.check_version()
  if vim.fn.has('nvim-' .. M.min_version) == 1 and vim.lsp.config ~= nil and vim.lsp.enable ~= nil then
    return true
  end
  local v = vim.version and vim.version() or nil
  local have = v and string.format('%d.%d.%d', v.major, v.minor, v.patch) or 'an older version'
  notify(
    string.format(
      'odp.nvim requires Neovim >= %s (vim.lsp.config and vim.lsp.enable); this is Neovim %s. '
        .. 'Upgrade Neovim, or see editors/nvim/README.md for an nvim-lspconfig setup.',
      M.min_version,
      have
    ),
    vim.log.levels.ERROR
  )
  return false
end

--- The vim.lsp.config table that setup() registers for `opts`.
--- @param opts table
--- @return vim.lsp.Config
function M.config(opts)
  opts = opts or {}
  -- An empty dict, not an empty list, when no registry is given: sent as `{}` rather than `[]`.
  local init_options = vim.empty_dict()
  init_options.registry = opts.registry
  -- Only the hints turned off: the server shows both by default.
  local hints = opts.inlay_hints or {}
  if hints.results == false or hints.types == false then
    init_options.inlayHints = {}
    if hints.results == false then
      init_options.inlayHints.results = false
    end
    if hints.types == false then
      init_options.inlayHints.types = false
    end
  end
  local config = {
    cmd = { opts.cmd or 'odp-lsp', '--stdio' },
    filetypes = { 'yaml.odp' },
    root_markers = { 'odp.toml', '.git' },
    init_options = init_options,
    get_language_id = function()
      return 'odp-pipeline'
    end,
  }
  if opts.lsp then
    config = vim.tbl_deep_extend('force', config, opts.lsp)
  end
  return config
end

--- Configures and enables the odp language server.
--- @param opts? { cmd?: string, registry?: string, inlay_hints?: { results?: boolean, types?: boolean }, signature_help?: boolean, lsp?: table }
--- @return boolean ok false when this Neovim is too old or the options are invalid
function M.setup(opts)
  if not M.check_version() then
    return false
  end
  local ok, err = pcall(function()
    vim.validate('opts', opts, 'table', true)
    opts = opts or {}
    vim.validate('opts.cmd', opts.cmd, 'string', true)
    vim.validate('opts.registry', opts.registry, 'string', true)
    vim.validate('opts.inlay_hints', opts.inlay_hints, 'table', true)
    vim.validate('opts.signature_help', opts.signature_help, 'boolean', true)
    vim.validate('opts.lsp', opts.lsp, 'table', true)
  end)
  if not ok then
    notify('setup(): ' .. tostring(err):gsub('^[^\n]-:%d+: ', ''), vim.log.levels.ERROR)
    return false
  end
  opts = opts or {}

  -- Also done by ftdetect/ and plugin/ when Neovim sources them; setup() does it too, for plugin managers that
  -- put the plugin on the runtimepath after those were sourced.
  require('odp.filetype').register()
  M.create_commands()

  local cmd = opts.cmd or 'odp-lsp'
  if vim.fn.executable(cmd) ~= 1 then
    notify(
      string.format(
        '`%s` is not executable: install it (cargo install --path crates/odp-lsp) or pass setup({ cmd = "/path/to/odp-lsp" })',
        cmd
      ),
      vim.log.levels.WARN
    )
  end

  vim.lsp.config(M.name, M.config(opts))
  vim.lsp.enable(M.name)
  M.options = opts
  return true
end

--- Defines :OdpRestart, :OdpRun, :OdpRunStep, :OdpCancel, :OdpResult and :OdpGraph (idempotent), and turns on the
--- server's inlay hints (each step's last result, the templates' types), code lenses (▶ Run pipeline, ▶ Run step) and
--- signature help while typing (unless `signature_help = false`) in its buffers.
function M.create_commands()
  vim.api.nvim_create_user_command('OdpRestart', function()
    M.restart()
  end, { desc = 'Restart the odp language server (odp-lsp)', force = true })
  vim.api.nvim_create_user_command('OdpRun', function()
    M.run()
  end, { desc = 'Run the pipeline of this buffer on the odp language server', force = true })
  vim.api.nvim_create_user_command('OdpRunStep', function(a)
    M.run(a.args ~= '' and a.args or M.step_at_cursor())
  end, { nargs = '?', desc = 'Run a step (default: the one under the cursor) and what it reads', force = true })
  vim.api.nvim_create_user_command('OdpCancel', function()
    M.command('odp.cancelRun', {})
  end, { desc = "Cancel this buffer's run", force = true })
  vim.api.nvim_create_user_command('OdpResult', function(a)
    M.show_result(a.args ~= '' and a.args or M.step_at_cursor())
  end, { nargs = '?', desc = "Show a step's whole last result in a scratch buffer", force = true })
  vim.api.nvim_create_user_command('OdpGraph', function(a)
    require('odp.graph').show(a.args)
  end, { nargs = '?', complete = 'file', desc = 'Write the pipeline as an SVG picture and open it', force = true })
  local group = vim.api.nvim_create_augroup('odp.runs', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client == nil or client.name ~= M.name then
        return
      end
      if vim.lsp.inlay_hint then
        vim.lsp.inlay_hint.enable(true, { bufnr = ev.buf })
      end
      if (M.options or {}).signature_help ~= false then
        M.auto_signature_help(ev.buf, group)
      end
      vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'BufWritePost' }, {
        group = group,
        buffer = ev.buf,
        callback = function()
          pcall(vim.lsp.codelens.refresh, { bufnr = ev.buf })
        end,
      })
      pcall(vim.lsp.codelens.refresh, { bufnr = ev.buf })
    end,
  })
end

--- Shows signature help while typing in insert mode, as VS Code does: after the server's trigger characters (`:`
--- and `,`) and on a new line. Outside a step's `params:` the server answers nothing, which stays silent.
--- @param buf integer
--- @param group integer
function M.auto_signature_help(buf, group)
  local function show()
    vim.lsp.buf.signature_help({ silent = true, focusable = false })
  end
  -- A typed `:` or `,`: asked for once it is in the text.
  vim.api.nvim_create_autocmd('InsertCharPre', {
    group = group,
    buffer = buf,
    callback = function()
      if vim.v.char == ':' or vim.v.char == ',' then
        vim.schedule(show)
      end
    end,
  })
  -- A new line (which InsertCharPre does not see): the cursor on the next line, nothing before it but indentation.
  local last_row
  vim.api.nvim_create_autocmd('InsertEnter', {
    group = group,
    buffer = buf,
    callback = function()
      last_row = vim.api.nvim_win_get_cursor(0)[1]
    end,
  })
  vim.api.nvim_create_autocmd('TextChangedI', {
    group = group,
    buffer = buf,
    callback = function()
      local row, col = unpack(vim.api.nvim_win_get_cursor(0))
      local new_line = last_row ~= nil
        and row == last_row + 1
        and vim.api.nvim_get_current_line():sub(1, col):match('^%s*$') ~= nil
      last_row = row
      if new_line then
        show()
      end
    end,
  })
end

--- The name of the step whose `- name:` line is at or above the cursor, if any.
--- @return string|nil
function M.step_at_cursor()
  local row = vim.api.nvim_win_get_cursor(0)[1]
  for i = row, 1, -1 do
    local line = vim.api.nvim_buf_get_lines(0, i - 1, i, false)[1] or ''
    local name = line:match('^%s*%-%s+name:%s*["\']?([%w_%-]+)')
    if name then
      return name
    end
  end
  return nil
end

--- Sends an odp command for the current buffer (`[uri, ...args]`) and calls `on_result(err, result)`.
function M.command(command, args, on_result)
  local buf = vim.api.nvim_get_current_buf()
  local client = vim.lsp.get_clients({ bufnr = buf, name = M.name })[1]
  if client == nil then
    notify('no odp language server serves this buffer', vim.log.levels.WARN)
    return
  end
  local arguments = { vim.uri_from_bufnr(buf) }
  vim.list_extend(arguments, args)
  client:request('workspace/executeCommand', { command = command, arguments = arguments }, function(err, result)
    if on_result then
      on_result(err, result, buf)
    elseif err then
      notify(err.message, vim.log.levels.ERROR)
    end
  end, buf)
end

--- Runs the pipeline of the current buffer, or one `step` and what it reads that has no current result. A
--- required input without a value is asked for with vim.ui.input, and the run starts again with it.
--- @param step? string
--- @param inputs? table
function M.run(step, inputs)
  inputs = inputs or vim.empty_dict()
  local args = step and { step, { inputs = inputs } } or { { inputs = inputs } }
  M.command(step and 'odp.runStep' or 'odp.runPipeline', args, function(err, result, buf)
    if err then
      local missing = err.data and err.data.missingInputs
      if type(missing) == 'table' and #missing > 0 then
        vim.ui.input({ prompt = 'odp: input ' .. missing[1] .. ': ' }, function(value)
          if value ~= nil then
            inputs[missing[1]] = value
            vim.api.nvim_buf_call(buf, function()
              M.run(step, inputs)
            end)
          end
        end)
        return
      end
      notify('the run failed: ' .. err.message, vim.log.levels.ERROR)
      return
    end
    M.last_run = result
    notify(string.format('run %s: %s in %d ms', result.status, counted(#result.steps, 'step'), result.durationMs))
    pcall(vim.lsp.codelens.refresh, { bufnr = buf })
  end)
end

--- Shows a step's whole last result as JSON in a scratch buffer.
--- @param step string
function M.show_result(step)
  if not step then
    notify('which step? :OdpResult {step}', vim.log.levels.WARN)
    return
  end
  M.command('odp.showResult', { step }, function(err, result)
    if err then
      notify(err.message, vim.log.levels.ERROR)
      return
    end
    local buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(vim.json.encode(result), '\n'))
    vim.bo[buf].filetype = 'json'
    vim.bo[buf].modifiable = false
    vim.api.nvim_set_current_buf(buf)
  end)
end

--- Stops every odp client and starts the server again for every `yaml.odp` buffer (`:OdpRestart`).
function M.restart()
  if not M.check_version() then
    return
  end
  local clients = vim.lsp.get_clients({ name = M.name })
  for _, client in ipairs(clients) do
    client:stop()
  end
  -- A stopped client stays in the client list until its exit has been handled: wait until it is gone, or the
  -- restarted buffers would still see it and not start a new one.
  local function all_stopped()
    for _, client in ipairs(clients) do
      if vim.lsp.get_client_by_id(client.id) ~= nil then
        return false
      end
    end
    return true
  end
  if not vim.wait(3000, all_stopped, 20) then
    for _, client in ipairs(clients) do
      client:stop(true)
    end
    vim.wait(1000, all_stopped, 20)
  end

  -- Re-enabling re-resolves the configuration and re-runs the FileType hook on every loaded buffer (once
  -- Neovim has entered: the loop below covers startup, e.g. a command given with `-c`).
  vim.lsp.enable(M.name)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if
      vim.api.nvim_buf_is_loaded(buf)
      and vim.bo[buf].filetype == 'yaml.odp'
      and #vim.lsp.get_clients({ bufnr = buf, name = M.name }) == 0
    then
      pcall(vim.api.nvim_exec_autocmds, 'FileType', { group = 'nvim.lsp.enable', buffer = buf })
    end
  end
  notify(string.format('restarted the language server (%s stopped)', counted(#clients, 'client')))
end

return M
