-- `*.odp.yaml`, `*.odp.yml` and YAML files with an `# odp: pipeline` modeline get the filetype `yaml.odp`.
require('odp.filetype').register()
