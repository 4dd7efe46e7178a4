import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join, resolve } from "node:path";
import tls from "node:tls";
import { execa } from "execa";

/** PEM files of a lab CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Makes the CA and both certificates under dir with openssl, once (they are kept for 30 days). */
export async function labTlsFiles(dir: string): Promise<TlsFiles> {
  const d = resolve(dir);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  const f = (n: string) => join(d, n);
  const files: TlsFiles = {
    ca: f("ca.pem"),
    serverCert: f("server.pem"),
    serverKey: f("server.key"),
    clientCert: f("client.pem"),
    clientKey: f("client.key"),
  };
  if (Object.values(files).every((p) => existsSync(p))) return files;
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await execa("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    f("ca.key"),
    "-out",
    files.ca,
    "-days",
    "30",
    "-subj",
    "/CN=dcn-verify lab CA",
  ]);
  const sign = async (name: string, subject: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    await execa("openssl", ["req", ...ec, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", subject]);
    await execa("openssl", [
      "x509",
      "-req",
      "-in",
      f(`${name}.csr`),
      "-CA",
      files.ca,
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-out",
      f(`${name}.pem`),
      "-days",
      "30",
      "-extfile",
      f(`${name}.ext`),
    ]);
  };
  await sign("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth");
  await sign("client", "/CN=dcn-verify", "extendedKeyUsage=clientAuth");
  return files;
}

export interface TlsFront {
  port: number;
  /** Connections refused for want of a client certificate the CA signed. */
  refused(): number;
  stop(): Promise<void>;
}

/**
 * A TLS endpoint on 127.0.0.1 in front of a Docker API unix socket (the lab's shim), as a Docker
 * engine with --tlsverify is: the client must show a certificate the CA signed.
 */
export async function startTlsFront(o: { socketPath: string; files: TlsFiles; port?: number }): Promise<TlsFront> {
  let refused = 0;
  const open = new Set<net.Socket>();
  const server = tls.createServer(
    {
      key: readFileSync(o.files.serverKey),
      cert: readFileSync(o.files.serverCert),
      ca: readFileSync(o.files.ca),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (client) => {
      const upstream = net.connect(o.socketPath);
      open.add(client);
      client.on("close", () => open.delete(client));
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end);
      upstream.on("error", end);
    },
  );
  server.on("tlsClientError", () => refused++);
  await new Promise<void>((r, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, "127.0.0.1", () => r());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    refused: () => refused,
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of open) s.destroy();
      }),
  };
}
