/**
 * Builds folder trees for the parity tests: folders, stand-in repositories,
 * files, symlinks, real `hg init` repositories and hgweb.config files, all
 * below one base folder.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export class TreeBuilder {
  constructor(readonly base: string) {}

  /** Absolute path of `rel` inside the tree. */
  abs(rel: string): string {
    return join(this.base, rel);
  }

  dir(...rels: string[]): this {
    for (const rel of rels) mkdirSync(this.abs(rel), { recursive: true });
    return this;
  }

  /** Stand-in repositories: to hgweb's walk a folder holding an empty `.hg` folder is a repository. */
  repo(...rels: string[]): this {
    for (const rel of rels) mkdirSync(join(this.abs(rel), '.hg'), { recursive: true });
    return this;
  }

  /**
   * A stand-in repository whose relative path is given as bytes, for names
   * that are not valid UTF-8 (a JavaScript string cannot spell them).
   */
  rawRepo(rel: Buffer): this {
    mkdirSync(Buffer.concat([Buffer.from(`${this.base}/`), rel, Buffer.from('/.hg')]), { recursive: true });
    return this;
  }

  file(rel: string, content = ''): this {
    mkdirSync(dirname(this.abs(rel)), { recursive: true });
    writeFileSync(this.abs(rel), content);
    return this;
  }

  /** A symlink at `rel` whose text is `target` (relative targets resolve from the link's folder). */
  link(rel: string, target: string): this {
    mkdirSync(dirname(this.abs(rel)), { recursive: true });
    symlinkSync(target, this.abs(rel));
    return this;
  }

  /** A real repository made by Mercurial itself, for the cases where a stand-in could hide a difference. */
  hgInit(rel: string): this {
    mkdirSync(dirname(this.abs(rel)), { recursive: true });
    // HGRCPATH empty: the machine's hgrc must not change what `hg init` creates.
    const r = spawnSync('hg', ['init', this.abs(rel)], { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`hg init ${rel} failed (${r.status}): ${r.stderr}`);
    return this;
  }

  chmod(rel: string, mode: number): this {
    chmodSync(this.abs(rel), mode);
    return this;
  }

  /**
   * Writes an hgweb.config (lines joined with `\n`, final newline added) and
   * returns its absolute path.
   */
  config(rel: string, lines: readonly string[]): string {
    this.file(rel, `${lines.join('\n')}\n`);
    return this.abs(rel);
  }
}
