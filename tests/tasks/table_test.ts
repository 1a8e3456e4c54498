import { textTable } from "../../tasks/_table.ts";
import { assertEquals } from "../_assert.ts";

Deno.test("textTable() writes a cell's control characters as escapes, so a terminal acts on none", () => {
  const hostile = "\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED\x9b";
  const table = textTable(["reason"], [[`merchant_not_allowed:${hostile}`]]);
  const controls = [...table].filter((char) => char !== "\n" && /\p{Cc}/u.test(char));
  assertEquals(controls, []);
  // A right-to-left override would show "ACME" and "gnp.exe" reversed, as an innocent name.
  assertEquals(textTable(["name"], [["ACME\u202Egnp.exe"]]).split("\n")[2], "ACME\\u202egnp.exe");
  assertEquals(
    table.split("\n")[2],
    "merchant_not_allowed:\\u001b]0;PWNED\\u0007\\u001b[2J\\u001b[31mRED\\u009b",
  );
});
