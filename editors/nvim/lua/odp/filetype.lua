-- Filetype detection for ODP pipelines.
--
-- A pipeline gets the compound filetype `yaml.odp`, so YAML syntax, indent and ftplugins still apply and the
-- odp language server attaches. The rules follow odp's own (docs/language.md, "Which files are pipelines"):
--   * files named `*.odp.yaml` or `*.odp.yml`;
--   * YAML files (`*.yaml`, `*.yml`) with an `# odp: pipeline` modeline among their leading comments.
-- Files matched only by `include` globs in odp.toml are not known here: add a pattern for them yourself
-- (see editors/nvim/README.md).

local M = {}

M.filetype = 'yaml.odp'

--- How many lines at the top of a YAML file are read looking for the modeline. Scanning stops earlier at the
--- first line that is neither blank nor a comment.
M.max_lines = 200

--- Whether one comment line is the modeline `# odp: pipeline` (spacing is free; `# odp: pipeline <anything>`
--- counts too). Mirrors `odp_workspace::has_modeline`.
--- @param line string a trimmed line starting with '#'
--- @return boolean
local function is_modeline(line)
  local comment = line:sub(2)
  local key, rest = comment:match('^([^:]*):(.*)$')
  if not key or vim.trim(key) ~= 'odp' then
    return false
  end
  rest = vim.trim(rest)
  return rest == 'pipeline' or vim.startswith(rest, 'pipeline ')
end

--- Whether the leading comments of `lines` hold an `# odp: pipeline` modeline.
--- @param lines string[]
--- @return boolean
function M.has_modeline(lines)
  for _, raw in ipairs(lines) do
    local line = vim.trim(raw)
    if line ~= '' then
      if line:sub(1, 1) ~= '#' then
        return false
      end
      if is_modeline(line) then
        return true
      end
    end
  end
  return false
end

--- vim.filetype.add() function for `*.yaml`/`*.yml`: `yaml.odp` when the buffer has the modeline, otherwise
--- nothing, so that Neovim's own rules (plain `yaml`, docker-compose, ...) decide.
--- @param _ string path
--- @param bufnr integer
--- @return string?
local function detect_modeline(_, bufnr)
  if not bufnr or bufnr < 0 or not vim.api.nvim_buf_is_valid(bufnr) then
    return nil
  end
  local ok, lines = pcall(vim.api.nvim_buf_get_lines, bufnr, 0, M.max_lines, false)
  if ok and M.has_modeline(lines) then
    return M.filetype
  end
  return nil
end

M.detect_modeline = detect_modeline

local registered = false

--- Registers the rules with vim.filetype.add(). Idempotent: called by ftdetect/odp.lua and by setup().
function M.register()
  if registered or not (vim.filetype and vim.filetype.add) then
    return
  end
  registered = true
  vim.filetype.add({
    pattern = {
      -- Checked before the `yaml` extension rule (non-negative priority patterns come first).
      ['.*%.odp%.ya?ml'] = { M.filetype, { priority = 20 } },
      ['.*%.ya?ml'] = { detect_modeline, { priority = 10 } },
    },
  })
end

return M
