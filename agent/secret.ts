/** The config Secret → files + generation for the core. */
import { ANN_CONFIG_GENERATION, ANN_VETTED_WITH } from "../capabilities/dataplane/conventions";
import { decodeConfigData } from "../capabilities/dataplane/secret-data";
import type { SecretObject } from "./kube";

/** Decoded files of the Secret, or why they cannot be used. */
export function secretFiles(
  s: SecretObject,
): { files: Record<string, string>; generation: string; vettedWith?: string } | { error: string } {
  const generation = s.metadata.annotations?.[ANN_CONFIG_GENERATION];
  if (!generation || !/^\d+$/.test(generation))
    return { error: `annotation ${ANN_CONFIG_GENERATION} is missing or not a number` };
  const decoded = decodeConfigData(s.data ?? {});
  if ("error" in decoded) return decoded;
  const vettedWith = s.metadata.annotations?.[ANN_VETTED_WITH];
  return vettedWith ? { files: decoded.files, generation, vettedWith } : { files: decoded.files, generation };
}
