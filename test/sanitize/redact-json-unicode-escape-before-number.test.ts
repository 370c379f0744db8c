/**
 * A card or an SSN right after a JSON \u00XX escape of a printable character shipped. %22, \x22 and
 * %3E, \x3e already end a word (DIGIT_NOT_ESCAPE, LETTER_ENDS_ESCAPE), and \u0000-\u001F did since
 * 3ca0279, but \u0022 ("), \u0027 ('), \u0026 (&), \u003c/\u003e (<, >) and \u002B (+) did not: their
 * last hex digit read as the number's first digit, or as a letter glued to it. Those are what .NET's
 * System.Text.Json writes for a quote, an apostrophe, "&", "+", "<" and ">" in a string by default, and
 * Go's encoding/json for "<", ">" and "&": a logged request body in those shipped its card and SSN.
 * \u0030-\u0039 encode digits and stay digits of the number, as %30-%39 do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fast, red } from './both-redactors.js';

test('a card or an SSN after a JSON \\u00XX escape of a quote, "<", ">", "&" or "+" is masked', () => {
  const cases: [string, string][] = [
    // .NET System.Text.Json: a JSON body logged as a string, quotes escaped as \u0022.
    [
      '{"Body":"{\\u0022pan\\u0022:\\u00224111111111111111\\u0022}"}',
      '{"Body":"{\\u0022pan\\u0022:\\u0022[REDACTED:pan]\\u0022}"}',
    ],
    [
      '{"Body":"{\\u0022card\\u0022:\\u00224111 1111 1111 1111\\u0022}"}',
      '{"Body":"{\\u0022card\\u0022:\\u0022[REDACTED:pan]\\u0022}"}',
    ],
    [
      '{"Body":"{\\u0022card\\u0022:\\u00224111.1111.1111.1111\\u0022}"}',
      '{"Body":"{\\u0022card\\u0022:\\u0022[REDACTED:pan]\\u0022}"}',
    ],
    ['{"Body":"{\\u0022ssn\\u0022:\\u0022123-45-6789\\u0022}"}', '{"Body":"{\\u0022ssn\\u0022:\\u0022[REDACTED:ssn]\\u0022}"}'],
    ["{\"Message\":\"pan=\\u00274111111111111111\\u0027\"}", "{\"Message\":\"pan=\\u0027[REDACTED:pan]\\u0027\"}"],
    ['{"q":"a=1\\u00264111111111111111"}', '{"q":"a=1\\u0026[REDACTED:pan]"}'],
    // Go encoding/json and .NET: "<" and ">" of an XML body as \u003c and \u003e, in either case.
    [
      '{"body":"\\u003cpan\\u003e4111111111111111\\u003c/pan\\u003e"}',
      '{"body":"\\u003cpan\\u003e[REDACTED:pan]\\u003c/pan\\u003e"}',
    ],
    ['{"body":"\\u003Cssn\\u003E078-05-1120\\u003C/ssn\\u003E"}', '{"body":"\\u003Cssn\\u003E[REDACTED:ssn]\\u003C/ssn\\u003E"}'],
    ['{"phone_or_card":"\\u002B4111111111111111"}', '{"phone_or_card":"\\u002B[REDACTED:pan]"}'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('benign numbers after JSON \\u00XX escapes stay, and encoded digits go on through the number', () => {
  for (const line of [
    // \u0034 is "4": the escape is a digit of "4111…" written out, not a separator before "111…".
    '{"v":"\\u00341111111111111111"}',
    '{"msg":"\\u0022order 1001\\u0022 total \\u003e 250.00 at 2026-11-23T10:53:51Z pid=4242"}',
    '{"Body":"{\\u0022requestId\\u0022:\\u00220f8fad5b-d9cb-469f-a165-70867728950e\\u0022,\\u0022ts\\u0022:1732269600123}"}',
    '{"RemoteIp":"\\u0022203.0.113.7\\u0022","Port":443}',
  ]) {
    assert.equal(red(line), line, line);
  }
});

test('a second pass over redacted \\u00XX lines changes nothing', () => {
  for (const line of [
    '{"Body":"{\\u0022pan\\u0022:\\u00224111111111111111\\u0022}"}',
    '{"body":"\\u003cpan\\u003e4111111111111111\\u003c/pan\\u003e"}',
    '{"Body":"{\\u0022ssn\\u0022:\\u0022123-45-6789\\u0022}"}',
  ]) {
    const once = fast.redact(line).text;
    assert.equal(fast.redact(once).text, once, line);
  }
});
