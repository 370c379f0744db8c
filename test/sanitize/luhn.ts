/**
 * Luhn mod-10 over a string of digits, written apart from src/sanitize/redact.ts (which reads
 * matches in place): the tests that make card numbers, and the differential test of the card
 * check, must not take their verdict from the code they test.
 */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}
