import { randomBytes } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { WebDownload } from "../config/schema.ts";

/**
 * The HTTP server Glance's web-download fetches the run's images from. It serves only GET and HEAD
 * of files directly in `root`, under a random path prefix, so nothing else on the host is reachable
 * and the URLs cannot be guessed.
 */
export interface ImageServer {
  /** The URL prefix Glance uses: <advertised base>/<token>. */
  baseUrl: string;
  close(): Promise<void>;
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export class ImageServerError extends Error {}

/** Why the server could not listen, naming the field to change. */
export function bindErrorMessage(cfg: Pick<WebDownload, "bind" | "port">, e: NodeJS.ErrnoException): string {
  const at = `webDownload: cannot listen on ${cfg.bind}:${cfg.port}`;
  switch (e.code) {
    case "EACCES":
      return (
        `${at} (EACCES): a port below 1024 needs root or CAP_NET_BIND_SERVICE for node ` +
        `(setcap cap_net_bind_service=+ep $(command -v node)); or set webDownload.port to a port Glance's allowed_ports lists, ` +
        `or keep a high webDownload.port behind a forwarder on 80/443 given as webDownload.advertiseUrl`
      );
    case "EADDRINUSE":
      return `${at} (EADDRINUSE): another process listens there; stop it, or set webDownload.port to a free port (0 picks one)`;
    case "EADDRNOTAVAIL":
      return `${at} (EADDRNOTAVAIL): ${cfg.bind} is not an address of this host; set webDownload.bind to one of its addresses`;
    default:
      return `${at} (${e.code ?? e.message}); set webDownload.bind/port to a free local address`;
  }
}

export async function startImageServer(cfg: Pick<WebDownload, "bind" | "port" | "advertiseUrl">, root: string): Promise<ImageServer> {
  const token = randomBytes(12).toString("hex");
  const server: Server = createServer((req, res) => {
    const parts = (req.url ?? "").split("?")[0]!.split("/");
    const name = parts[2] ?? "";
    const ok = (req.method === "GET" || req.method === "HEAD") && parts.length === 3 && parts[1] === token && FILE_NAME.test(name);
    let size = -1;
    if (ok) {
      try {
        const st = statSync(join(root, name));
        if (st.isFile()) size = st.size;
      } catch {
        size = -1;
      }
    }
    if (size < 0) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(size) });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const stream = createReadStream(join(root, name));
    stream.on("error", () => res.destroy());
    stream.pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => reject(new ImageServerError(bindErrorMessage(cfg, e)));
    server.once("error", onError);
    server.listen(cfg.port, cfg.bind, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = cfg.bind.includes(":") ? `[${cfg.bind}]` : cfg.bind;
  const base = (cfg.advertiseUrl ?? `http://${host}:${port}`).replace(/\/+$/, "");
  return {
    baseUrl: `${base}/${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
