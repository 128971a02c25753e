// The Teams-like look of the gallery: an Adaptive Cards host config and the CSS the adaptivecards
// renderer expects its host to supply (buttons, inputs and the chat frame are unstyled without it).
// It follows Teams' light theme: Segoe UI (falling back to Roboto, the next font in Teams' own
// stack on machines without Segoe), brand accent #6264A7, 16 px card padding and grey-on-white
// chrome. Status colours are the darker shades Teams uses for text on white, so "good", "warning"
// and "attention" stay readable in the screenshots.

/** Width of the card in CSS pixels: a full-width card in a Teams chat on a laptop screen. */
export const cardWidth = 560;

const fontFamily = "'Segoe UI', 'Segoe UI Web (West European)', -apple-system, BlinkMacSystemFont, Roboto, 'Helvetica Neue', sans-serif";

const foregroundColors = {
  default: { default: '#242424', subtle: '#616161' },
  dark: { default: '#242424', subtle: '#616161' },
  light: { default: '#FFFFFF', subtle: '#F5F5F5' },
  accent: { default: '#6264A7', subtle: '#8B8CC7' },
  good: { default: '#237B4B', subtle: '#4F9A6D' },
  warning: { default: '#835B00', subtle: '#A37B1F' },
  attention: { default: '#C4314B', subtle: '#D1697C' },
};

const style = (backgroundColor, borderColor = '#E0E0E0') => ({ backgroundColor, borderColor, foregroundColors });

/** Host config in the shape adaptivecards' HostConfig constructor reads. */
export const hostConfig = {
  supportsInteractivity: true,
  fontFamily,
  spacing: { small: 8, default: 12, medium: 16, large: 20, extraLarge: 24, padding: 16 },
  separator: { lineThickness: 1, lineColor: '#E0E0E0' },
  fontSizes: { small: 12, default: 14, medium: 16, large: 18, extraLarge: 24 },
  fontWeights: { lighter: 300, default: 400, bolder: 600 },
  lineHeights: { small: 16, default: 20, medium: 22, large: 24, extraLarge: 32 },
  imageSizes: { small: 32, medium: 52, large: 100 },
  containerStyles: {
    default: style('#FFFFFF'),
    emphasis: style('#F5F5F5'),
    accent: style('#EBEBF6', '#C5C6E3'),
    good: style('#EAF5EE', '#B4D9C2'),
    warning: style('#FFF6E0', '#F0D79A'),
    attention: style('#FCEDEF', '#EDB5BF'),
  },
  actions: {
    maxActions: 6,
    spacing: 'default',
    buttonSpacing: 8,
    showCard: { actionMode: 'inline', inlineTopMargin: 16, style: 'emphasis' },
    actionsOrientation: 'horizontal',
    actionAlignment: 'left',
    iconPlacement: 'leftOfTitle',
    iconSize: 16,
    allowTitleToWrap: false,
  },
  adaptiveCard: { allowCustomStyle: true },
  factSet: {
    title: { color: 'default', size: 'default', isSubtle: false, weight: 'bolder', wrap: true, maxWidth: 180 },
    value: { color: 'default', size: 'default', isSubtle: false, weight: 'default', wrap: true },
    spacing: 12,
  },
  textStyles: {
    heading: { fontType: 'default', size: 'large', weight: 'bolder', color: 'default', isSubtle: false },
    columnHeader: { fontType: 'default', size: 'default', weight: 'bolder', color: 'default', isSubtle: false },
  },
  textBlock: { headingLevel: 2 },
  inputs: {
    label: {
      inputSpacing: 'small',
      requiredInputs: { weight: 'bolder', suffix: ' *', suffixColor: 'attention' },
      optionalInputs: { weight: 'bolder' },
    },
    errorMessage: { size: 'small', color: 'attention' },
  },
  table: { cellSpacing: 8 },
};

/** Page CSS: the chat background, the card's frame and the controls the renderer leaves to the host. */
export const css = `
html, body { margin: 0; padding: 0; background: #F5F5F5; }
body { font-family: ${fontFamily}; -webkit-font-smoothing: antialiased; }
#frame { display: inline-block; padding: 16px; background: #F5F5F5; }
#card {
  width: ${cardWidth}px; background: #FFFFFF; border: 1px solid #E0E0E0; border-radius: 6px;
  box-shadow: 0 1px 2px rgba(0, 0, 0, 0.12), 0 0 2px rgba(0, 0, 0, 0.08); overflow: hidden;
}
#card .ac-adaptiveCard:focus { outline: none; }
a.ac-anchor, #card a { color: #6264A7; text-decoration: none; }
#card p { margin: 0; }
/* Fact titles take the width they need up to the host config's maxWidth, so "Stage 1" next to a
   long value stays on one line instead of being squeezed to its longest word. */
#card .ac-fact-title .ac-textBlock { width: max-content; max-width: ${hostConfig.factSet.title.maxWidth}px; }
/* Top-level styled containers (status banners) get rounded corners; table cells stay square. */
#card .ac-adaptiveCard > .ac-container { border-radius: 4px; }
#card ul, #card ol { margin: 0; padding-left: 20px; }

.ac-pushButton {
  box-sizing: border-box; height: 32px; min-width: 64px; padding: 0 12px;
  font-family: inherit; font-size: 14px; font-weight: 600; line-height: 30px;
  color: #242424; background: #FFFFFF; border: 1px solid #D1D1D1; border-radius: 4px;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; cursor: pointer; user-select: none;
}
.ac-pushButton.style-positive { color: #FFFFFF; background: #6264A7; border-color: #6264A7; }
.ac-pushButton.style-destructive { color: #C4314B; border-color: #D1D1D1; }
.ac-pushButton.expanded { color: #FFFFFF; background: #6264A7; border-color: #6264A7; }

.ac-input { font-family: inherit; font-size: 14px; color: #242424; }
.ac-input.ac-textInput, .ac-input.ac-numberInput, .ac-input.ac-dateInput, .ac-input.ac-timeInput,
.ac-input.ac-multichoiceInput.ac-choiceSetInput-compact {
  box-sizing: border-box; height: 32px; padding: 5px 10px; background: #FFFFFF;
  border: 1px solid #D1D1D1; border-bottom-color: #616161; border-radius: 4px;
}
.ac-input.ac-textInput { resize: none; }
.ac-input.ac-textInput.ac-multiline { height: 72px; }
.ac-input::placeholder { color: #707070; }
.ac-input.ac-input-validation-failed { border-color: #C4314B !important; }
.ac-input input[type=checkbox], .ac-input input[type=radio] {
  accent-color: #6264A7; width: 16px; height: 16px; margin: 2px 8px 0 0; flex: 0 0 auto;
}
`;
