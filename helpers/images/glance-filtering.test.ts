import { describe, expect, test } from "vitest";
import { type ImportFilter, importUriRefusal, parseImportUri, restrictedHost, STOCK_GLANCE_FILTER } from "./glance-filtering.ts";

const filter = (o: Partial<ImportFilter>): ImportFilter => ({ ...STOCK_GLANCE_FILTER, ...o });

describe("Glance's web-download filter (validate_import_uri, glance/common/utils.py)", () => {
  test("a URL is read as urlparse reads it: the port only where the URL names one, numeric hosts left as written", () => {
    expect(parseImportUri("http://images.example.org/x.raw")).toEqual({ scheme: "http", host: "images.example.org" });
    expect(parseImportUri("HTTPS://user@Host:80/x")).toEqual({ scheme: "https", host: "host", port: 80 });
    expect(parseImportUri("http://[::1]:8080/x")).toEqual({ scheme: "http", host: "::1", port: 8080 });
    expect(parseImportUri("http://127.1/x")).toEqual({ scheme: "http", host: "127.1" });
    expect(parseImportUri("file:///etc/passwd")).toEqual({ scheme: "file" });
  });

  test("stock options: http(s) on any host, a named port only 80 or 443, and a URL without a port is not port-checked", () => {
    expect(importUriRefusal("http://127.0.0.1/x.raw")).toBeUndefined();
    expect(importUriRefusal("http://169.254.169.254/latest")).toBeUndefined();
    expect(importUriRefusal("https://10.0.0.5:443/x")).toBeUndefined();
    expect(importUriRefusal("http://10.0.0.5:8080/x")).toBe("port 8080 is not allowed (allowed_ports [80, 443], disallowed_ports [])");
    expect(importUriRefusal("ftp://mirror/x")).toMatch(/^scheme ftp is not allowed/);
    expect(importUriRefusal("http://2130706433/x")).toBe("host 2130706433 is a number Glance reads as an encoded address");
  });

  test("an allowed list wins over its disallowed list; a disallowed entry refuses alone", () => {
    expect(importUriRefusal("http://a.example/x", filter({ allowed_hosts: ["b.example"] }))).toMatch(/^host a\.example is not allowed/);
    expect(importUriRefusal("http://a.example/x", filter({ disallowed_hosts: ["a.example"] }))).toMatch(/^host a\.example is not allowed/);
    expect(
      importUriRefusal("http://a.example/x", filter({ allowed_hosts: ["a.example"], disallowed_hosts: ["a.example"] })),
    ).toBeUndefined();
    expect(importUriRefusal("http://a.example:8080/x", filter({ allowed_ports: [], disallowed_ports: [8080] }))).toMatch(/^port 8080/);
    expect(importUriRefusal("http://a.example:8080/x", filter({ allowed_ports: [] }))).toBeUndefined();
    expect(importUriRefusal("http://a.example/x", filter({ allowed_ports: [8080] }))).toBeUndefined();
  });

  test("loopback and link-local hosts, the rule of builds with the 2026 SSRF fixes, are told apart from the rest", () => {
    expect(["localhost", "127.0.0.1", "::1", "[::ffff:7f00:1]", "::ffff:127.0.0.1"].map(restrictedHost)).toEqual(Array(5).fill("loopback"));
    expect(["169.254.169.254", "fe80::1"].map(restrictedHost)).toEqual(["link-local", "link-local"]);
    expect(["10.0.0.5", "0.0.0.0", "images.example.org"].map(restrictedHost)).toEqual([undefined, undefined, undefined]);
  });
});
