#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx tick-replay` needs no build step.
import { register } from 'tsx/esm/api';

// We run on Node 20 on purpose (see README "Limitations"); the SDK's reminder that future
// releases need Node 22 would otherwise be printed twice on every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../lib/cli/main.ts');
