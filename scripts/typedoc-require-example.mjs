// TypeDoc plugin: every public item of the API must show how it is used.
// It warns for each exported class, interface, type, function, variable,
// method and accessor whose comment has no @example; typedoc.json sets
// treatWarningsAsErrors, so `npm run docs` fails until each has one.
// Members a class inherits or overrides are documented where declared.
import { Application, ReflectionKind } from 'typedoc';

const REQUIRED =
  ReflectionKind.Class |
  ReflectionKind.Interface |
  ReflectionKind.TypeAlias |
  ReflectionKind.Function |
  ReflectionKind.Variable |
  ReflectionKind.Method |
  ReflectionKind.Accessor;

/** @param {Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    for (const r of project.getReflectionsByKind(REQUIRED)) {
      if (r.flags.isPrivate || r.flags.isProtected || r.flags.isExternal) continue;
      if (r.inheritedFrom || r.overwrites) continue;
      const comments = [
        r.comment,
        ...(r.signatures ?? []).map((s) => s.comment),
        r.getSignature?.comment,
        r.setSignature?.comment,
      ];
      if (comments.some((c) => c?.getTag('@example'))) continue;
      app.logger.warn(`${r.getFriendlyFullName()} (${ReflectionKind.singularString(r.kind)}) has no @example`);
    }
  });
}
