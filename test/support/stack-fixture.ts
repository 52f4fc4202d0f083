/**
 * The fixture most integration tests share: a temp dir and an embedded stack on free loopback
 * ports, with SDK clients for it, started before the suite and stopped after it (by its handle).
 * Call inside a `describe`; the fields are set once `before` ran.
 */
import { after, before } from 'node:test';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { makeTempDir, type TempDir } from './temp-dir.ts';

export interface StackFixture {
  tmp: TempDir;
  stack: EmbeddedStack;
  clients: AwsClients;
}

export function useEmbeddedStack(): StackFixture {
  const fixture = {} as StackFixture;
  before(async () => {
    fixture.tmp = await makeTempDir();
    fixture.stack = await startEmbeddedStack({ stateDir: fixture.tmp.join('state'), edgePort: 0, logger: silentLogger });
    fixture.clients = createAwsClients({ endpointUrl: fixture.stack.endpointUrl, region: 'us-east-1' });
  });
  after(async () => {
    fixture.clients.destroy();
    await fixture.stack.stop();
    await fixture.tmp.remove();
  });
  return fixture;
}
