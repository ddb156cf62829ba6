/**
 * Progress of a long run on stderr: a bar on a terminal, a line per quarter otherwise (logs
 * and CI keep four lines, not hundreds).
 */
export function progressPrinter(): (done: number, total: number) => void {
  const tty = process.stderr.isTTY;
  let lastQuarter = -1;
  return (done, total) => {
    if (tty) {
      const width = 30;
      const filled = Math.round((done / total) * width);
      process.stderr.write(
        `\r  rounds [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
      );
      if (done === total) process.stderr.write('\n');
      return;
    }
    const quarter = Math.floor((4 * done) / total);
    if (quarter !== lastQuarter) {
      lastQuarter = quarter;
      process.stderr.write(`  rounds ${done}/${total}\n`);
    }
  };
}
