// Test support: the default configuration, as the function reads it from an empty environment.
import { loadConfig } from '../../function/config';

export const TEST_VERSION = '0.1.0-test';
export const defaultConfig = loadConfig({}, TEST_VERSION);
