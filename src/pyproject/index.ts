/**
 * pyproject.toml as an input: PEP 621 dependencies and extras, PEP 735 dependency
 * groups, Poetry's dependency tables, and pylayer's own project defaults
 * (`[tool.pylayer]` or `pylayer.toml`).
 */
export {
  type DefaultKeySpec,
  type DefaultValue,
  loadProjectDefaults,
  mergeProjectDefaults,
  PROJECT_DEFAULT_KEYS,
  type ProjectDefaults,
  parseProjectDefaults,
} from "./defaults.js";
export {
  dependencyGroupNames,
  expandDependencyGroup,
  type GroupRequirement,
} from "./dependency-groups.js";
export {
  type PoetryConstraint,
  type PoetryRequirement,
  parsePoetryConstraint,
  poetryConstraintAdmits,
  poetryConstraintToPep440,
  poetryDependencyRequirements,
  poetryExtraPackages,
  poetryPythonMarker,
} from "./poetry.js";
export {
  type ProjectRequest,
  type ProjectRequirements,
  type Pyproject,
  type PythonRequirement,
  projectAdmitsPython,
  projectRequirements,
  readPyproject,
} from "./project.js";
export {
  isTable,
  parseJsonText,
  parseTomlText,
  readTextFile,
  readTomlFile,
  type TomlTable,
  validate,
} from "./toml.js";
