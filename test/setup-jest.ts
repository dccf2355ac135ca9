import { Testing } from 'cdktf';
// Types of the matchers Testing.setupJest() installs (toHaveResourceWithProperties, ...).
import type {} from 'cdktf/lib/testing/adapters/jest.js';

Testing.setupJest();
