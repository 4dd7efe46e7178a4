// The catalog, derived from the suites' declarations, for the tests that call helpers/ in their own process.
import "../suites/index.ts";
