-- Minimal init for the headless Neovim tests (tests/nvim/test_nvim.py):
--   nvim --headless --clean -u tests/nvim/init.lua -c 'autocmd VimEnter * ++once ++nested luafile tests/nvim/run.lua'
-- ODP_NVIM_PLUGIN: the plugin directory (editors/nvim); ODP_LSP_BIN: the odp-lsp binary.
local plugin = assert(os.getenv('ODP_NVIM_PLUGIN'), 'ODP_NVIM_PLUGIN is not set')
local bin = assert(os.getenv('ODP_LSP_BIN'), 'ODP_LSP_BIN is not set')

vim.opt.runtimepath:prepend(plugin)
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'

-- Everything the LSP client logs goes to $XDG_STATE_HOME/nvim/lsp.log, which the test prints on failure.
vim.lsp.log.set_level(vim.log.levels.INFO)

-- Keep what setup() reports through vim.notify, for the test to read.
_G.odp_test_notifications = {}
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(_G.odp_test_notifications, { msg = tostring(msg), level = level })
  return notify(msg, level, opts)
end

_G.odp_test_setup_ok = require('odp').setup({ cmd = bin })
