/** The default policy: one current loop per thread, made by the pure-TS loop. */
import { BaseDefaultEventLoopPolicy, _setDefaultPolicyFactory, type AbstractEventLoop } from './events.js';
import { PureEventLoop } from './loops/pure/loop.js';

export class DefaultEventLoopPolicy extends BaseDefaultEventLoopPolicy {
  protected _loopFactory(): AbstractEventLoop {
    return new PureEventLoop();
  }
}

_setDefaultPolicyFactory(() => new DefaultEventLoopPolicy());
