import type { Config, Site } from "./schema.ts";

/** The flavor of the site's servers: its own, else the config's. */
export const siteFlavor = (cfg: Pick<Config, "flavor">, site: Pick<Site, "flavor">): string => site.flavor ?? cfg.flavor;

/** The network the site's servers boot on: its own, else the config's ("none": networks none). */
export const siteNetwork = (cfg: Pick<Config, "network">, site: Pick<Site, "network">): string => site.network ?? cfg.network;
