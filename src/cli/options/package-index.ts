/** Where packages come from and how their pages and files are cached. */
import type { OptionSpec } from "../args.js";

export const INDEX_OPTIONS: Record<string, OptionSpec> = {
  "index-url": {
    type: "string",
    short: "i",
    valueName: "URL",
    description: "Package index (PEP 503/691); default from pip/uv settings, else PyPI",
  },
  "extra-index-url": {
    type: "string",
    multiple: true,
    valueName: "URL",
    description:
      "Another index, asked before --index-url; indexes given here or in the environment are asked before those of pip.conf, uv.toml or [tool.pylayer]",
  },
  "index-strategy": {
    type: "string",
    valueName: "STRATEGY",
    description:
      "first-index (default: each project comes only from the first index that has it, which protects against dependency confusion), unsafe-first-match or unsafe-best-match (every index is consulted, as pip does); also UV_INDEX_STRATEGY",
  },
  "find-links": {
    type: "string",
    short: "f",
    multiple: true,
    valueName: "PATH|URL",
    description: "Folder or page of wheels to consider too",
  },
  "no-index": { type: "boolean", description: "Use only --find-links locations" },
  codeartifact: {
    type: "string",
    valueName: "DOMAIN/REPOSITORY",
    description:
      "Use an AWS CodeArtifact repository as the index (endpoint and token from the AWS SDK: usual credentials and region; the token is never printed or cached)",
  },
  "codeartifact-owner": {
    type: "string",
    valueName: "ACCOUNT",
    description: "The account that owns the CodeArtifact domain (default: yours)",
  },
  "codeartifact-region": {
    type: "string",
    valueName: "REGION",
    description: "The CodeArtifact region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's)",
  },
  "allow-unreachable-index": {
    type: "string",
    multiple: true,
    valueName: "URL",
    description:
      "An index the build may skip when it cannot be reached (otherwise an unreachable index asked before the one that has a project fails the build)",
  },
  timeout: {
    type: "string",
    valueName: "SECONDS",
    description:
      "A request fails when no data arrives for this long, or less than 1 KiB/s on average over this long; then it is retried (default: PIP_TIMEOUT, UV_HTTP_TIMEOUT, pip.conf, else 30)",
  },
  retries: {
    type: "string",
    valueName: "N",
    description:
      "Further attempts after a failed request (default: PIP_RETRIES, UV_HTTP_RETRIES, pip.conf, else 3)",
  },
  pre: { type: "boolean", description: "Allow pre-release versions" },
  upgrade: {
    type: "boolean",
    description:
      "Resolve every package afresh (default: keep the last build's versions where they still fit)",
  },
  "resolver-budget": {
    type: "string",
    valueName: "N",
    description:
      "Candidates the resolver may try per target before giving up and naming the conflict it could not settle (default 200000)",
  },
};

export const CACHE_OPTIONS: Record<string, OptionSpec> = {
  "cache-dir": {
    type: "string",
    valueName: "DIR",
    description: "Cache folder (default: PYLAYER_CACHE_DIR or the platform cache folder)",
  },
  "no-cache": { type: "boolean", description: "Neither read nor write the cache" },
  refresh: {
    type: "boolean",
    description:
      "Ask the index about every cached page, even one still fresh by its Cache-Control max-age",
  },
};
