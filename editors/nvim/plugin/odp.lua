-- :OdpRestart exists as soon as the plugin is on the runtimepath, also for users who enable the server with
-- `vim.lsp.enable('odp')` (lsp/odp.lua) instead of require('odp').setup().
if vim.g.loaded_odp then
  return
end
vim.g.loaded_odp = 1

vim.api.nvim_create_user_command('OdpRestart', function()
  require('odp').restart()
end, { desc = 'Restart the odp language server (odp-lsp)', force = true })
