// asyncio's low-level examples with callbacks: "Hello World with call_soon()" and "Display the
// current date with call_later()" (every second for 5 seconds), then loop.stop().
//   npm run build && node examples/callbacks.mjs
import * as aio from 'aloop';

// Hello World: callSoon schedules it, it stops the loop.
{
  const loop = aio.newEventLoop();
  loop.callSoon((l) => {
    console.log('Hello World');
    l.stop();
  }, loop);
  try {
    await loop.runForever();
  } finally {
    loop.close();
  }
}

// The current date, every second, for 5 seconds.
{
  const loop = aio.newEventLoop();
  const endTime = loop.time() + 5.0;
  function displayDate(endTime, l) {
    console.log(new Date().toISOString());
    if (l.time() + 1.0 < endTime) l.callLater(1, displayDate, endTime, l);
    else l.stop();
  }
  loop.callSoon(displayDate, endTime, loop);
  try {
    await loop.runForever();
  } finally {
    loop.close();
  }
}
