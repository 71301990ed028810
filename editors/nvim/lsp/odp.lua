-- Default configuration of the odp language server for Neovim >= 0.11's vim.lsp.config: with this plugin on
-- the runtimepath, `vim.lsp.enable('odp')` alone starts `odp-lsp --stdio` for `yaml.odp` buffers.
-- require('odp').setup(opts) layers its options over these.
return {
  cmd = { 'odp-lsp', '--stdio' },
  filetypes = { 'yaml.odp' },
  root_markers = { 'odp.toml', '.git' },
  -- The server treats a document opened as `odp-pipeline` as a pipeline, whatever its name (as in VS Code).
  get_language_id = function()
    return 'odp-pipeline'
  end,
}
