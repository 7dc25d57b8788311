/**
 * AWS CodeArtifact as a package index: GetRepositoryEndpoint (format pypi) gives the
 * repository's URL, GetAuthorizationToken a token sent as Basic auth with the user `aws`
 * (what `aws codeartifact login --tool pip` writes into pip's configuration). Credentials,
 * region and endpoint are resolved as for the other AWS calls (`clients.ts`; the endpoint
 * override is AWS_ENDPOINT_URL_CODEARTIFACT, then AWS_ENDPOINT_URL).
 *
 * The token stays in memory: the index URL handed to the index client has no user-info, so
 * the token reaches no cache key, lock file, message or event. It is fetched again when it
 * is within a minute of its expiration, and when the index refuses it (see `TokenCredential`).
 */

import { usageError } from "../errors.js";
import type { TokenCredential } from "../index/http.js";
import { type AwsOptions, callAws, commonConfig, defaultRegion } from "./clients.js";

export interface CodeArtifactRepository {
  domain: string;
  repository: string;
  /** The account that owns the domain (default: the caller's account). */
  domainOwner?: string;
  /** Default: the AWS region settings (AWS_REGION, AWS_DEFAULT_REGION, the profile). */
  region?: string;
  /** Token lifetime asked for, 900–43200 s; default 43200 (the service caps it at the role session). */
  durationSeconds?: number;
}

export interface CodeArtifactIndex {
  /** The PEP 503 simple API root, without credentials. */
  indexUrl: string;
  token: TokenCredential;
}

/** Renew this long before the announced expiration. */
const RENEW_MARGIN_MS = 60_000;

export async function openCodeArtifactIndex(
  repository: CodeArtifactRepository,
  aws: AwsOptions = {},
  now: () => number = Date.now,
): Promise<CodeArtifactIndex> {
  const region = repository.region ?? (await defaultRegion(aws));
  const { CodeartifactClient, GetAuthorizationTokenCommand, GetRepositoryEndpointCommand } =
    await import("@aws-sdk/client-codeartifact");
  const client = new CodeartifactClient(commonConfig("codeartifact", region, aws));
  const where = `${repository.domain}/${repository.repository}`;
  const owner = repository.domainOwner === undefined ? {} : { domainOwner: repository.domainOwner };
  const endpoint = await callAws(
    "codeartifact:ReadFromRepository",
    region,
    aws,
    () =>
      client.send(
        new GetRepositoryEndpointCommand({
          domain: repository.domain,
          repository: repository.repository,
          format: "pypi",
          ...owner,
        }),
      ),
    where,
  );
  const base = endpoint.repositoryEndpoint;
  if (base === undefined || !/^https?:\/\//.test(base)) {
    throw usageError(
      `CodeArtifact gave no pypi endpoint for ${where} in ${region}`,
      "Check the domain, repository, domain owner and region.",
    );
  }
  const indexUrl = new URL("simple/", base.endsWith("/") ? base : `${base}/`).href;

  let current: { authorization: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = (): Promise<string> => {
    pending ??= (async () => {
      try {
        const answer = await callAws(
          "codeartifact:GetAuthorizationToken (and sts:GetServiceBearerToken)",
          region,
          aws,
          () =>
            client.send(
              new GetAuthorizationTokenCommand({
                domain: repository.domain,
                durationSeconds: repository.durationSeconds ?? 43_200,
                ...owner,
              }),
            ),
          repository.domain,
        );
        const token = answer.authorizationToken ?? "";
        const authorization = `Basic ${Buffer.from(`aws:${token}`, "utf8").toString("base64")}`;
        current = {
          authorization,
          expiresAt: answer.expiration?.getTime() ?? now() + 15 * 60_000,
        };
        return authorization;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
  const token: TokenCredential = {
    origin: new URL(indexUrl).origin,
    async authorization() {
      if (pending !== undefined) return pending;
      if (current !== undefined && now() < current.expiresAt - RENEW_MARGIN_MS) {
        return current.authorization;
      }
      return fetchToken();
    },
    async renew(refused) {
      if (pending !== undefined) return pending;
      if (current !== undefined && current.authorization !== refused) return current.authorization;
      return fetchToken();
    },
  };
  return { indexUrl, token };
}
