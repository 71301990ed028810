-- :OdpGraph — the buffer's pipeline as a picture. The server draws it (`odp.showGraph`: the SVG of its analysis of
-- the buffer's text, unsaved edits included); this writes it to a file and opens that with vim.ui.open (the
-- system's viewer or browser).
--
--   :OdpGraph              writes <tempdir>/<file name>.svg (the same file each time: a viewer that reloads
--                          shows the new picture) and opens it
--   :OdpGraph {path}       writes {path} instead
--
-- How the file is opened can be changed: require('odp.graph').open = function(path) ... end (say, to open it in a
-- browser of your choice, or not at all).

local M = {}

--- Opens the written SVG; nil means vim.ui.open. Returns anything but `nil, err` on success.
--- @type fun(path: string): any, string|nil
M.open = nil

--- The last picture written: { path = string, result = table } (the server's answer).
M.last = nil

local function notify(msg, level)
  vim.notify('odp: ' .. msg, level or vim.log.levels.INFO, { title = 'odp' })
end

--- Where :OdpGraph writes the picture of `buf` when given no path.
--- @param buf integer
--- @return string
function M.default_path(buf)
  local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ':t')
  name = name:gsub('%.ya?ml$', ''):gsub('%.odp$', '')
  if name == '' then
    name = 'pipeline'
  end
  return vim.fs.joinpath(vim.fn.fnamemodify(vim.fn.tempname(), ':h'), name .. '.svg')
end

--- Asks the server for the graph of the current buffer, writes it to `path` (default: M.default_path) and opens it.
--- @param path? string
function M.show(path)
  if path == '' then
    path = nil
  end
  require('odp').command('odp.showGraph', {}, function(err, result, buf)
    if err then
      notify('no graph: ' .. err.message, vim.log.levels.ERROR)
      return
    end
    local file = path and vim.fn.fnamemodify(path, ':p') or M.default_path(buf)
    local f, open_err = io.open(file, 'w')
    if not f then
      notify('cannot write the graph: ' .. tostring(open_err), vim.log.levels.ERROR)
      return
    end
    f:write(result.svg)
    f:close()
    M.last = { path = file, result = result }
    local opener = M.open or vim.ui.open
    local ok, cmd_or_error, open_error = pcall(opener, file)
    local why = (not ok and cmd_or_error) or open_error
    if why then
      notify(string.format('wrote %s, but could not open it: %s', file, tostring(why)), vim.log.levels.WARN)
      return
    end
    local errors = result.errors or 0
    notify(string.format('graph written to %s%s', file, errors > 0 and string.format(' (%d errors marked)', errors) or ''))
  end)
end

return M
