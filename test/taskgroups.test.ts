// taskGroup (CPython test_taskgroups.py, translated to the function form).
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

function* spin(n: number): aio.Coro<void> {
  for (let i = 0; i < n; i++) yield* aio.sleep(0);
}

async function failAfter(delay: number, err: Error): Promise<never> {
  await aio.sleep(delay);
  throw err;
}

eachLoop((lc) => {
  test('resolves to the body result after every task finished (async body)', async () => {
    await lc.runVirtual(async () => {
      let t1!: aio.Task<number>;
      let t2!: aio.Task<number>;
      const r = await aio.taskGroup(async (tg) => {
        t1 = tg.createTask(async () => {
          await aio.sleep(0.01);
          return 42;
        });
        t2 = tg.createTask(() => aio.sleep(0.001, 11));
        return 'body';
      });
      expect(r).toBe('body');
      expect(t1.result()).toBe(42);
      expect(t2.result()).toBe(11);
    });
  });

  test('generator body and generator tasks', async () => {
    const r = await lc.runVirtual(function* () {
      const tasks: aio.Task<number>[] = [];
      const body = yield* aio.taskGroup(function* (tg) {
        for (let i = 0; i < 3; i++) {
          tasks.push(
            tg.createTask(function* () {
              yield* aio.sleep(0.001 * (3 - i));
              return i;
            }),
          );
        }
        return 'gen body';
      });
      return [body, tasks.map((t) => t.result())];
    });
    expect(r).toEqual(['gen body', [0, 1, 2]]);
  });

  test('an empty group returns the body result', async () => {
    await lc.run(async () => {
      expect(await aio.taskGroup(async () => 7)).toBe(7);
      expect(await aio.taskGroup(function* () {
        return 8;
      })).toBe(8);
    });
  });

  test('the first failure cancels the other tasks and the body; ExceptionGroup', async () => {
    await lc.runVirtual(async () => {
      let other!: aio.Task<unknown>;
      let bodyErr: unknown;
      let err: unknown;
      try {
        await aio.taskGroup(async (tg) => {
          other = tg.createTask(() => aio.sleep(10));
          tg.createTask(() => failAfter(0.001, new RangeError('zero')));
          try {
            await aio.sleep(10);
          } catch (e) {
            bodyErr = e;
            throw e;
          }
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.ExceptionGroup);
      expect(err).toBeInstanceOf(AggregateError);
      const eg = err as aio.ExceptionGroup;
      expect(eg.exceptions).toHaveLength(1);
      expect(eg.exceptions[0]).toBeInstanceOf(RangeError);
      expect(other.cancelled()).toBe(true);
      expect(bodyErr).toBeInstanceOf(aio.CancelledError);
    });
  });

  test('several failures land in one ExceptionGroup', async () => {
    await lc.run(async () => {
      let err: unknown;
      try {
        await aio.taskGroup(async (tg) => {
          tg.createTask(() => failAfter(0.001, new Error('one')));
          tg.createTask(() => failAfter(0.001, new Error('two')));
          tg.createTask(async () => {
            throw new Error('three');
          });
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.ExceptionGroup);
      const msgs = (err as aio.ExceptionGroup).exceptions.map((e) => (e as Error).message).sort();
      // 'three' fails first and cancels the sleepers, unless they fail in the same iteration.
      expect(msgs).toContain('three');
      expect(msgs.every((m) => ['one', 'two', 'three'].includes(m))).toBe(true);
    });
  });

  test('failures in the same iteration are all collected', async () => {
    await lc.runVirtual(async () => {
      let err: unknown;
      try {
        await aio.taskGroup(async (tg) => {
          for (const m of ['a', 'b', 'c']) {
            tg.createTask(async () => {
              throw new Error(m);
            });
          }
          await aio.sleep(0.01);
        });
      } catch (e) {
        err = e;
      }
      const msgs = (err as aio.ExceptionGroup).exceptions.map((e) => (e as Error).message).sort();
      expect(msgs).toEqual(['a', 'b', 'c']);
    });
  });

  test('a task that cleans up after cancellation is waited for', async () => {
    await lc.runVirtual(async () => {
      let cleaned = false;
      await expect(
        aio.taskGroup(async (tg) => {
          tg.createTask(async () => {
            try {
              await aio.sleep(10);
            } finally {
              await aio.sleep(0.005);
              cleaned = true;
            }
          });
          tg.createTask(() => failAfter(0.001, new Error('x')));
        }),
      ).rejects.toBeInstanceOf(aio.ExceptionGroup);
      expect(cleaned).toBe(true);
    });
  });

  test('a failing cleanup adds its error to the group', async () => {
    await lc.runVirtual(async () => {
      let err: unknown;
      try {
        await aio.taskGroup(async (tg) => {
          tg.createTask(async () => {
            try {
              await aio.sleep(10);
            } catch {
              throw new TypeError('in cleanup');
            }
          });
          tg.createTask(() => failAfter(0.001, new Error('first')));
        });
      } catch (e) {
        err = e;
      }
      const names = (err as aio.ExceptionGroup).exceptions.map((e) => (e as Error).name).sort();
      expect(names).toEqual(['Error', 'TypeError']);
    });
  });

  test('the body raising cancels the tasks and is in the ExceptionGroup', async () => {
    await lc.runVirtual(async () => {
      let child!: aio.Task<unknown>;
      let err: unknown;
      try {
        await aio.taskGroup(async (tg) => {
          child = tg.createTask(() => aio.sleep(10));
          await aio.sleep(0);
          throw new EvalError('body');
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.ExceptionGroup);
      expect((err as aio.ExceptionGroup).exceptions.map((e) => (e as Error).name)).toEqual(['EvalError']);
      expect(child.cancelled()).toBe(true);
    });
  });

  test('the body raising synchronously (generator body)', async () => {
    await lc.runVirtual(function* () {
      let err: unknown;
      try {
        yield* aio.taskGroup(function* (tg): aio.Coro<void> {
          tg.createTask(() => aio.sleep(10));
          throw new Error('gen body');
        });
      } catch (e) {
        err = e;
      }
      expect((err as aio.ExceptionGroup).exceptions.map((e) => (e as Error).message)).toEqual(['gen body']);
    });
  });

  test('a child that is cancelled on its own does not fail the group', async () => {
    await lc.runVirtual(async () => {
      const r = await aio.taskGroup(async (tg) => {
        const t = tg.createTask(() => aio.sleep(10));
        const u = tg.createTask(() => aio.sleep(0.002, 'u'));
        await aio.sleep(0);
        t.cancel();
        return [u] as const; // boxed: an async body returning a Task would be flattened
      });
      expect(r[0].result()).toBe('u');
    });
  });

  test('cancellation from outside cancels the body and tasks and propagates', async () => {
    await lc.runVirtual(function* () {
      const children: aio.Task<unknown>[] = [];
      let bodyErr: unknown;
      const g = aio.taskGroup(async (tg) => {
        children.push(tg.createTask(() => aio.sleep(10)));
        children.push(tg.createTask(function* () {
          yield* aio.sleep(10);
        }));
        try {
          await aio.sleep(10);
        } catch (e) {
          bodyErr = e;
          throw e;
        }
      });
      yield* aio.sleep(0.002);
      g.cancel();
      yield* spin(5);
      expect(g.cancelled()).toBe(true);
      expect(children.every((c) => c.cancelled())).toBe(true);
      expect(bodyErr).toBeInstanceOf(aio.CancelledError);
    });
  });

  test('cancelled from outside while waiting for the tasks after the body returned', async () => {
    await lc.runVirtual(function* () {
      let child!: aio.Task<unknown>;
      const g = aio.taskGroup(async (tg) => {
        child = tg.createTask(() => aio.sleep(10));
        return 'body done';
      });
      yield* aio.sleep(0.002);
      expect(g.done()).toBe(false);
      g.cancel();
      yield* spin(5);
      expect(g.cancelled()).toBe(true);
      expect(child.cancelled()).toBe(true);
    });
  });

  test('a child failing after the body returned cancels the other children', async () => {
    await lc.runVirtual(async () => {
      let sibling!: aio.Task<unknown>;
      await expect(
        aio.taskGroup(async (tg) => {
          sibling = tg.createTask(() => aio.sleep(10));
          tg.createTask(() => failAfter(0.003, new Error('late failure')));
          return 'returned early';
        }),
      ).rejects.toBeInstanceOf(aio.ExceptionGroup);
      expect(sibling.cancelled()).toBe(true);
    });
  });

  test('a task awaiting the group is cancelled, not swallowed', async () => {
    await lc.runVirtual(function* () {
      const waiter = aio.createTask(async () => {
        await aio.taskGroup(async (tg) => {
          tg.createTask(() => aio.sleep(10));
          await aio.sleep(10);
        });
        return 'swallowed';
      });
      yield* aio.sleep(0.002);
      waiter.cancel();
      yield* spin(6);
      expect(waiter.cancelled()).toBe(true);
    });
  });

  test('outside cancellation while a child fails: ExceptionGroup wins, cancel stays requested', async () => {
    await lc.runVirtual(function* () {
      const g = aio.taskGroup(async (tg) => {
        tg.createTask(async () => {
          try {
            await aio.sleep(10);
          } catch {
            throw new Error('failed while cancelled');
          }
        });
        await aio.sleep(10);
      });
      yield* aio.sleep(0.002);
      g.cancel();
      let err: unknown;
      try {
        yield* g;
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.ExceptionGroup);
    });
  });

  test('the group task is not left cancelling after handling a child failure', async () => {
    await lc.runVirtual(function* () {
      const g = aio.taskGroup(async (tg) => {
        tg.createTask(() => failAfter(0.001, new Error('x')));
        await aio.sleep(10);
      });
      try {
        yield* g;
      } catch {
        // expected ExceptionGroup
      }
      expect(g.cancelled()).toBe(false);
      expect(g.cancelling()).toBe(0);
    });
  });

  test('createTask after the group finished is an error', async () => {
    await lc.run(async () => {
      let saved!: aio.TaskGroup;
      await aio.taskGroup(async (tg) => {
        saved = tg;
      });
      expect(() => saved.createTask(async () => {})).toThrow(/finished/);
    });
  });

  test('createTask while the group is shutting down is an error', async () => {
    await lc.runVirtual(async () => {
      let late: unknown;
      await expect(
        aio.taskGroup(async (tg) => {
          tg.createTask(async () => {
            try {
              await aio.sleep(10);
            } finally {
              try {
                tg.createTask(async () => {});
              } catch (e) {
                late = e;
              }
            }
          });
          tg.createTask(() => failAfter(0.001, new Error('boom')));
        }),
      ).rejects.toBeInstanceOf(aio.ExceptionGroup);
      expect(String(late)).toMatch(/shutting down/);
    });
  });

  test('tasks may be added by other tasks while the body waits', async () => {
    await lc.runVirtual(async () => {
      const results: number[] = [];
      await aio.taskGroup(async (tg) => {
        tg.createTask(async () => {
          await aio.sleep(0.001);
          tg.createTask(async () => {
            await aio.sleep(0.001);
            results.push(2);
          });
          results.push(1);
        });
      });
      expect(results).toEqual([1, 2]);
    });
  });

  test('nested groups: an inner failure becomes a nested ExceptionGroup', async () => {
    await lc.runVirtual(async () => {
      let outerSibling!: aio.Task<unknown>;
      let err: unknown;
      try {
        await aio.taskGroup(async (outer) => {
          outerSibling = outer.createTask(() => aio.sleep(10));
          await aio.taskGroup(async (inner) => {
            inner.createTask(() => failAfter(0.001, new Error('deep')));
            await aio.sleep(10);
          });
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.ExceptionGroup);
      const eg = err as aio.ExceptionGroup;
      expect(eg.exceptions).toHaveLength(1);
      expect(eg.exceptions[0]).toBeInstanceOf(aio.ExceptionGroup);
      expect(((eg.exceptions[0] as aio.ExceptionGroup).exceptions[0] as Error).message).toBe('deep');
      expect(outerSibling.cancelled()).toBe(true);
    });
  });

  test('nested groups: the outer failing cancels the inner group', async () => {
    await lc.runVirtual(async () => {
      let innerChild!: aio.Task<unknown>;
      let innerErr: unknown;
      await expect(
        aio.taskGroup(async (outer) => {
          outer.createTask(() => failAfter(0.002, new Error('outer fails')));
          try {
            await aio.taskGroup(async (inner) => {
              innerChild = inner.createTask(() => aio.sleep(10));
              await aio.sleep(10);
            });
          } catch (e) {
            innerErr = e;
            throw e;
          }
        }),
      ).rejects.toBeInstanceOf(aio.ExceptionGroup);
      expect(innerChild.cancelled()).toBe(true);
      expect(innerErr).toBeInstanceOf(aio.CancelledError);
    });
  });

  test('the body catching the cancellation still sees the group fail', async () => {
    await lc.runVirtual(async () => {
      let err: unknown;
      try {
        await aio.taskGroup(async (tg) => {
          tg.createTask(() => failAfter(0.001, new Error('task')));
          try {
            await aio.sleep(10);
          } catch {
            // swallowed by the body
          }
          return 'body ended';
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.ExceptionGroup);
    });
  });

  test('task names pass through createTask options', async () => {
    await lc.run(async () => {
      await aio.taskGroup(async (tg) => {
        const t = tg.createTask(async () => {}, { name: 'named' });
        expect(t.getName()).toBe('named');
      });
    });
  });

  test('taskGroup with a non-function body is a TypeError naming body', async () => {
    await lc.run(async () => {
      expect(() => aio.taskGroup(42 as never)).toThrow(TypeError);
      expect(() => aio.taskGroup(42 as never)).toThrow(/body/);
    });
  });

  test('toString describes the group', async () => {
    await lc.runVirtual(async () => {
      await aio.taskGroup(async (tg) => {
        tg.createTask(() => aio.sleep(0.001));
        expect(String(tg)).toMatch(/TaskGroup.*tasks=1/);
      });
    });
  });
});
