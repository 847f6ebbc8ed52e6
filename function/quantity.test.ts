// Quantities: parsed exactly, written back in the user's style.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatQuantity, parseQuantity } from './quantity';

const G = 10n ** 9n;

test('each form the API server takes parses to exact nano-units', () => {
  assert.is(parseQuantity('100m'), 100n * 10n ** 6n);
  assert.is(parseQuantity('1'), G);
  assert.is(parseQuantity('0.5'), G / 2n);
  assert.is(parseQuantity('.25'), G / 4n);
  assert.is(parseQuantity('64Mi'), 64n * 2n ** 20n * G);
  assert.is(parseQuantity('1.5Gi'), 3n * 2n ** 29n * G);
  assert.is(parseQuantity('1G'), 10n ** 9n * G);
  assert.is(parseQuantity('1e3'), 1000n * G);
  assert.is(parseQuantity('2E-3'), 2n * 10n ** 6n);
  assert.is(parseQuantity('5n'), 5n);
  assert.is(parseQuantity('1.5n'), 2n, 'rounded up, as the API server does');
  assert.is(parseQuantity('+3'), 3n * G);
});

test('what is not a quantity is undefined, never a number', () => {
  for (const bad of ['', 'Mi', '1.2.3', '64MB', '1 Gi', '0x10', '1e999', 'NaN', '1mi']) assert.is(parseQuantity(bad), undefined, bad);
});

test('sums are written in the style of the value they change', () => {
  const sum = (a: string, b: string) => formatQuantity(parseQuantity(a)! + parseQuantity(b)!, a);
  assert.is(sum('100Mi', '64Mi'), '164Mi');
  assert.is(sum('1Gi', '1Gi'), '2Gi');
  assert.is(sum('1Gi', '64Mi'), '1088Mi');
  assert.is(sum('500m', '50m'), '550m');
  assert.is(sum('1', '50m'), '1050m');
  assert.is(sum('1', '1'), '2');
  assert.is(sum('1G', '1G'), '2G');
  assert.is(sum('1G', '64Mi'), '1067108864');
  assert.is(sum('100M', '64Mi'), '167108864');
  assert.is(formatQuantity(0n, '1Gi'), '0');
  assert.is(formatQuantity(1500n), '1500n');
});

test('a formatted quantity parses back to itself', () => {
  for (const text of ['164Mi', '1088Mi', '550m', '2', '2G', '1067108864', '7u', '3n']) {
    assert.is(formatQuantity(parseQuantity(text)!, text), text);
  }
});

test.run();
