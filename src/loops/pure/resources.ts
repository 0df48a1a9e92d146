/**
 * The Node sockets and servers each loop has open, so that closing the loop releases them as the
 * native loop's `close()` releases its libuv handles. A net.Socket left open by the program
 * would otherwise keep the process alive after `run()` returned (or after `loop.close()`), until
 * its peer closed it; with the native loop the process exits.
 *
 * Each resource leaves its loop's set by itself when Node reports it closed.
 */
import type { EventEmitter } from 'node:events';
import type { AbstractEventLoop } from '../../events.js';

const open = new WeakMap<AbstractEventLoop, Map<EventEmitter, () => void>>();

/**
 * Holds `resource` (a net.Socket, net.Server or dgram.Socket) for `loop` until it emits 'close';
 * `release` closes it if the loop closes first (at once if the loop is closed already).
 */
export function hold(loop: AbstractEventLoop, resource: EventEmitter, release: () => void): void {
  if (loop.isClosed()) {
    release();
    return;
  }
  let held = open.get(loop);
  if (held === undefined) open.set(loop, (held = new Map()));
  const map = held;
  map.set(resource, release);
  resource.once('close', () => map.delete(resource));
}

/** The loop is closed: releases what it still holds. */
export function releaseAll(loop: AbstractEventLoop): void {
  const held = open.get(loop);
  if (held === undefined) return;
  open.delete(loop);
  for (const release of held.values()) {
    try {
      release();
    } catch {
      // Closed by Node meanwhile: nothing left to release.
    }
  }
}
