import {
  Badge,
  Modal,
  NavLink,
  Notification,
  createTheme,
  defaultVariantColorsResolver,
  parseThemeColor,
  type CSSVariablesResolver,
  type VariantColorsResolver,
} from '@mantine/core';

/**
 * Light and subtle variants (badges, secondary buttons) with dark text (shade 9) on the palest
 * tint (shade 0), so it reads at 4.5:1 or more. Orange and yellow do not reach that: states use
 * other colors.
 */
const variantColorResolver: VariantColorsResolver = (input) => {
  const colors = defaultVariantColorsResolver(input);
  if (input.variant !== 'light' && input.variant !== 'subtle') return colors;
  const parsed = parseThemeColor({ color: input.color || input.theme.primaryColor, theme: input.theme });
  if (!parsed.isThemeColor || parsed.shade !== undefined) return colors;
  const text = `var(--mantine-color-${parsed.color}-9)`;
  return input.variant === 'light'
    ? { ...colors, color: text, background: `var(--mantine-color-${parsed.color}-0)`, hover: `var(--mantine-color-${parsed.color}-1)` }
    : { ...colors, color: text };
};

/** One theme for the app: Mantine's defaults with the product's blue and a calm, dense layout. */
export const theme = createTheme({
  primaryColor: 'indigo',
  // Shade 7 and up keeps links and filled buttons at 4.5:1 contrast or more on white (WCAG AA).
  primaryShade: 8,
  defaultRadius: 'md',
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
  fontFamilyMonospace: "ui-monospace, SFMono-Regular, 'SF Mono', Menlo, Consolas, 'Liberation Mono', monospace",
  headings: { fontWeight: '650' },
  variantColorResolver,
  components: {
    // A badge is a short state word: never cut it to an ellipsis when its table column is narrow.
    Badge: Badge.extend({ styles: { root: { flexShrink: 0, overflow: 'visible' }, label: { overflow: 'visible' } } }),
    // Mantine's close button is an icon only: name it for screen readers.
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close' } } }),
    // The active section: dark indigo on a pale tint, hovered or not (4.5:1 or more).
    NavLink: NavLink.extend({
      vars: () => ({
        root: { '--nl-bg': 'var(--mantine-color-indigo-0)', '--nl-color': 'var(--mantine-color-indigo-9)', '--nl-hover': 'var(--mantine-color-gray-1)' },
        children: {},
      }),
    }),
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { 'aria-label': 'Close' } },
      styles: { description: { color: 'var(--mantine-color-gray-8)' } },
    }),
  },
});

/** Secondary and error text darker than Mantine's defaults (gray-6, red-6), which are below 4.5:1 on white. */
export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: { '--mantine-color-dimmed': 'var(--mantine-color-gray-7)', '--mantine-color-error': 'var(--mantine-color-red-9)' },
  dark: {},
});

/** Table scroll areas take keyboard focus, so a table wider than the screen can be scrolled without a mouse. */
export const KEYBOARD_SCROLL = { viewportProps: { tabIndex: 0 } } as const;
